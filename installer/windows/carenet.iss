; Inno Setup 6 script for CareNet Desktop (Windows). Build the one-folder app first:
;   .venv\Scripts\pip install -e ".[installer]"
;   .venv\Scripts\pyinstaller --noconfirm build_installer.spec
; then, with the version of pyproject.toml:
;   iscc /DAppVersion=0.1.0 installer\windows\carenet.iss
; -> dist\CareNetDesktop-0.1.0-setup.exe: a per-user install (no administrator rights), a Start-menu entry,
; an optional desktop icon and an uninstaller. The practice's database is not in the program folder
; (it lives in the user's data folder), so uninstalling or upgrading never touches patient data.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "CareNet Desktop"
#define AppExe "CareNetDesktop.exe"
#define SourceDir "..\..\dist\CareNetDesktop"

[Setup]
AppId={{6C1E3A52-4F0B-4C59-9E0A-2B7C5D1F8A34}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=CareNet pediatric care network
DefaultDirName={localappdata}\Programs\CareNetDesktop
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=..\..\dist
OutputBaseFilename=CareNetDesktop-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\carenet.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
