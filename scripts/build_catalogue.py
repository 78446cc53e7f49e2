#!/usr/bin/env python3
"""Build resources/valuesets/carenet-catalogue.json, the default code catalogue.

The catalogue is a FHIR Bundle of ValueSet resources with the SAME canonical URLs as the published eCQM
value sets, each expansion cut down to a curated subset: small value sets (<= 40 codes) stay whole;
large ones keep the codes the demo network and the data-entry forms use (carenet_desktop/demo/vocab.py)
plus their ICD-10-CM codes when there are few of them (so exclusions can be recorded). The network's own
value sets (``urn:carenet:valueset:<name>``) cover what the eCQMs do not (lead tests, developmental
screening, fluoride varnish in primary care ...). Loading full VSAC expansions remains a user's import.

Re-run after changing the vocabulary:  .venv/bin/python scripts/build_catalogue.py [--oracle DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carenet_desktop.codes import system_key, system_uri  # noqa: E402
from carenet_desktop.demo.vocab import EXTRA_URL_PREFIX, EXTRA_VALUESETS, all_codes  # noqa: E402

DEFAULT_ORACLE = Path("/work/shared/oracle/measures")
OUTPUT = ROOT / "resources" / "valuesets" / "carenet-catalogue.json"
#: codes the forms and EHR imports may use beyond what the demo records, per network value set name
ADDITIONS = Path(__file__).with_name("catalogue_additions.json")
SMALL = 40
FEW_ICD = 60
ALWAYS_WHOLE = {"PayerType", "Race", "Ethnicity", "ONCAdministrativeSex"}
TIMESTAMP = "2025-01-01T00:00:00Z"  # fixed, so re-running gives the same file


def read_oracle(folder: Path) -> dict[str, dict]:
    """Every ValueSet resource of every measure folder, by canonical URL (first seen wins)."""
    found: dict[str, dict] = {}
    for path in sorted(folder.glob("*/valuesets.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        for entry in bundle.get("entry", []):
            resource = entry.get("resource", {})
            if resource.get("resourceType") == "ValueSet" and resource.get("url"):
                found.setdefault(resource["url"], resource)
    return found


def curated(resource: dict, chosen: set[tuple[str, str]]) -> list[dict]:
    contains = resource.get("expansion", {}).get("contains", [])
    if len(contains) <= SMALL or resource.get("name") in ALWAYS_WHOLE:
        keep = contains
    else:
        icd = [c for c in contains if system_key(c.get("system")) == "icd10cm"]
        keep = [c for c in contains if (system_key(c.get("system")), c.get("code")) in chosen
                or (len(icd) <= FEW_ICD and system_key(c.get("system")) == "icd10cm")]
    out = [{"system": c["system"], "code": c["code"], **({"display": c["display"]} if c.get("display") else {})}
           for c in keep]
    return sorted(out, key=lambda c: (c["system"], c["code"]))


def value_set(url: str, name: str, title: str, version: str | None, contains: list[dict], note: str) -> dict:
    vs_id = url.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    resource = {
        "resourceType": "ValueSet", "id": vs_id, "url": url, "name": name, "title": title, "status": "active",
        "description": note,
        "expansion": {"identifier": f"urn:carenet:expansion:{vs_id}", "timestamp": TIMESTAMP,
                      "total": len(contains), "contains": contains},
    }
    if version:
        resource["version"] = version
    return resource


def defined_elsewhere(folder: Path, output: Path) -> dict[str, set[tuple[str, str]]]:
    """Value sets other resource files in the folder define (e.g. the network measures' own sets)."""
    found: dict[str, set[tuple[str, str]]] = {}
    for path in sorted(folder.glob("*.json")):
        if path.resolve() == output.resolve():
            continue
        for entry in json.loads(path.read_text(encoding="utf-8")).get("entry", []):
            resource = entry.get("resource", {})
            codes = {(system_key(c.get("system")), c.get("code")) for c in resource.get("expansion", {}).get("contains", [])}
            for include in resource.get("compose", {}).get("include", []):
                codes |= {(system_key(include.get("system")), c.get("code")) for c in include.get("concept", [])}
            if resource.get("url"):
                found[resource["url"]] = codes
    return found


def build(oracle: Path, output: Path = OUTPUT) -> dict:
    chosen = {(system_key(c.system), c.code) for c in all_codes()}
    elsewhere = defined_elsewhere(output.parent, output)
    entries = []
    for url, resource in sorted(read_oracle(oracle).items()):
        contains = curated(resource, chosen)
        total = len(resource.get("expansion", {}).get("contains", []))
        note = (f"CareNet default catalogue: {len(contains)} of the {total} codes of the published expansion"
                if len(contains) < total else "CareNet default catalogue: the published expansion")
        entries.append(value_set(url, resource.get("name", ""), resource.get("title") or resource.get("name", ""),
                                 resource.get("version"), contains, note))
    additions = json.loads(ADDITIONS.read_text(encoding="utf-8"))["valuesets"] if ADDITIONS.exists() else {}
    for name, (title, codes) in EXTRA_VALUESETS.items():
        url = f"{EXTRA_URL_PREFIX}{name}"
        if url in elsewhere:  # one definition per URL: another resource file owns it
            missing = {(system_key(c.system), c.code) for c in codes} - elsewhere[url]
            if missing:
                raise SystemExit(f"build_catalogue: {url} is defined in another file without {sorted(missing)}")
            continue
        merged = {(system_uri(c.system), c.code): c.display for c in codes}
        for extra in additions.get(name, []):
            merged.setdefault((system_uri(system_key(extra["system"])), extra["code"]), extra.get("display", ""))
        contains = [{"system": s, "code": c, **({"display": d} if d else {})} for (s, c), d in sorted(merged.items())]
        entries.append(value_set(url, name, title, "1", contains,
                                 "CareNet network value set (not part of the eCQM value sets)"))
    return {"resourceType": "Bundle", "id": "carenet-catalogue", "type": "collection",
            "entry": [{"fullUrl": e["url"], "resource": e} for e in entries]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oracle", type=Path, default=DEFAULT_ORACLE, help="folder with <CMS>/valuesets.json")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    if not args.oracle.is_dir():
        print(f"build_catalogue: no such folder: {args.oracle}", file=sys.stderr)
        return 2
    bundle = build(args.oracle, args.output)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    codes = sum(e["resource"]["expansion"]["total"] for e in bundle["entry"])
    print(f"{args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}: "
          f"{len(bundle['entry'])} value sets, {codes} codes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
