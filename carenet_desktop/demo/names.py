"""Plausible names and places for the synthetic network (no real people)."""

from __future__ import annotations

GIVEN_FEMALE = ["Olivia", "Emma", "Charlotte", "Amelia", "Sophia", "Mia", "Isabella", "Ava", "Evelyn", "Luna", "Harper", "Sofia", "Camila", "Eleanor", "Elizabeth", "Violet", "Scarlett", "Emily", "Hazel", "Lily", "Gianna", "Aurora", "Penelope", "Aria", "Nora", "Chloe", "Ellie", "Mila", "Avery", "Layla", "Abigail", "Ella", "Isla", "Eliana", "Nova", "Madison", "Zoe", "Ivy", "Grace", "Lucy", "Willow", "Emilia", "Riley", "Naomi", "Victoria", "Stella", "Maya", "Paisley"]
GIVEN_MALE = ["Liam", "Noah", "Oliver", "James", "Elijah", "Mateo", "Theodore", "Henry", "Lucas", "William", "Benjamin", "Levi", "Sebastian", "Jack", "Ezra", "Michael", "Daniel", "Leo", "Owen", "Samuel", "Hudson", "Alexander", "Asher", "Luca", "Ethan", "John", "David", "Jackson", "Joseph", "Mason", "Luke", "Matthew", "Julian", "Dylan", "Elias", "Jacob", "Maverick", "Gabriel", "Logan", "Aiden", "Thomas", "Isaac", "Miles", "Grayson", "Santiago", "Anthony"]
GIVEN_FEMALE_HISPANIC = ["Sofia", "Valentina", "Camila", "Isabella", "Mariana", "Gabriela", "Daniela", "Lucia", "Ximena", "Valeria", "Renata", "Natalia", "Fernanda", "Andrea", "Paula", "Regina", "Victoria", "Emilia", "Jimena", "Guadalupe", "Ana", "Elena", "Catalina", "Luciana", "Abril"]
GIVEN_MALE_HISPANIC = ["Mateo", "Santiago", "Sebastian", "Matias", "Diego", "Leonardo", "Emiliano", "Daniel", "Alejandro", "Nicolas", "Gael", "Angel", "Adrian", "Jose", "Luis", "Carlos", "Miguel", "Juan", "Javier", "Andres", "Gabriel", "Rafael", "Eduardo", "Fernando", "Julian"]
GIVEN_ASIAN = ["Minh", "Anh", "Linh", "Khoa", "Bao", "Wei", "Jun", "Mei", "Hana", "Yuna", "Jin", "Hao", "Ling", "Arjun", "Priya", "Anaya", "Rohan", "Sita", "Bishal", "Aasha"]
FAMILY = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "James", "Hughes", "Price", "Sanders", "Myers", "Long", "Ross", "Foster", "Powell", "Jenkins", "Perry", "Russell"]
FAMILY_HISPANIC = ["Garcia", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Perez", "Sanchez", "Ramirez", "Torres", "Flores", "Rivera", "Gomez", "Diaz", "Cruz", "Morales", "Reyes", "Gutierrez", "Ortiz", "Ramos", "Chavez", "Mendoza", "Ruiz", "Alvarez", "Castillo", "Jimenez", "Vasquez", "Romero"]
FAMILY_ASIAN = ["Nguyen", "Tran", "Le", "Pham", "Huynh", "Chen", "Wang", "Li", "Zhang", "Liu", "Kim", "Park", "Patel", "Shah", "Gurung", "Tamang", "Rai"]
FAMILY_AFRICAN = ["Mohamed", "Ali", "Hassan", "Abdi", "Warsame", "Jean-Baptiste", "Pierre", "Joseph", "Louis", "Charles"]

PRACTICE_NAMES = (
    ("Riverside Pediatrics", "Springfield"), ("Northgate Children's Clinic", "Springfield"),
    ("Lakeview Family Health Center", "Lakeview"), ("Maple Street Pediatrics", "Fairview"),
    ("Harbor Community Health", "Port Haven"), ("Cedar Hills Pediatric Associates", "Cedar Hills"),
    ("Eastside Kids Care", "Springfield"), ("Prairie Rural Health Clinic", "Millbrook"),
    ("Sunrise Pediatrics", "Oak Park"), ("Bridgeport Children's Health", "Bridgeport"),
    ("Valley Pediatric Partners", "Greenvale"), ("Westwood Community Clinic", "Westwood"),
    ("Hillcrest Pediatrics", "Hillcrest"), ("Union Square Family Medicine", "Springfield"),
    ("Pinecrest Children's Center", "Pinecrest"), ("Meadowbrook Pediatrics", "Meadowbrook"),
    ("Southside Health Partners", "Springfield"), ("Brookfield Pediatric Group", "Brookfield"),
    ("Clearwater Kids Clinic", "Clearwater"), ("Granite Falls Family Practice", "Granite Falls"),
)
STATE = "OH"

REFERRAL_DESTINATIONS = {
    "help-me-grow": ("Help Me Grow Central Access Point",),
    "early-intervention": ("County Early Intervention Program", "Regional Early Intervention Services"),
    "behavioral-health": ("Children's Behavioral Health Center", "Community Counseling Services",
                          "Integrated Behavioral Health (on site)"),
    "specialist": ("Children's Hospital Pulmonology", "Children's Hospital Cardiology",
                   "Developmental-Behavioral Pediatrics", "Pediatric ENT Associates", "Pediatric Dermatology"),
    "community-service": ("County Food Bank", "Family Housing Partnership", "WIC Office",
                          "Community Action Agency", "Legal Aid for Families"),
    "dental": ("Smile Partners Pediatric Dentistry",),
}
LOST_REASONS = ("Unable to reach family", "Family declined", "No-show to appointment",
                "Insurance or cost barrier", "Moved out of area")
CARE_ACTIVITIES = ("outreach-call", "resource-navigation", "care-plan-meeting", "transportation-arranged",
                   "interpreter-arranged")
COORDINATORS = ("A. Rivera, RN", "M. Chen, CHW", "K. Okafor, MSW", "L. Novak, RN", "D. Silva, CHW")
