#!/usr/bin/env python3
"""Every "%n" string in the sources has its English plural forms.

Runs lupdate over the sources into a scratch file and checks that each
numerus message it finds is in resources/translations/natter_en.ts with two
filled-in forms, and that the file holds no message the sources dropped.
Usage: check_translations.py LUPDATE SOURCE_DIR
"""
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path


def numerus_sources(ts_path):
    root = ET.parse(ts_path).getroot()
    found = {}
    for context in root.iter('context'):
        name = context.findtext('name')
        for message in context.iter('message'):
            if message.get('numerus') != 'yes':
                continue
            forms = [form.text or '' for form in message.iter('numerusform')]
            found[(name, message.findtext('source'))] = forms
    return found


def main():
    lupdate, source_dir = sys.argv[1], Path(sys.argv[2])
    shipped = numerus_sources(source_dir / 'resources/translations/natter_en.ts')
    with tempfile.TemporaryDirectory() as scratch:
        scanned_path = Path(scratch) / 'scanned_en.ts'
        # Includes are rooted at the repository, so lupdate needs it as an include path.
        subprocess.run([lupdate, '-silent', '-no-obsolete', '-locations', 'none', '-I', str(source_dir),
                        *(str(source_dir / part) for part in ('app', 'ui', 'common')),
                        '-ts', str(scanned_path)], check=True)
        scanned = numerus_sources(scanned_path)
    problems = []
    for key in scanned:
        forms = shipped.get(key)
        if forms is None:
            problems.append(f'missing from natter_en.ts: {key[0]}: "{key[1]}"')
        elif len(forms) != 2 or not all(forms) or any('(s)' in form for form in forms):
            problems.append(f'needs its singular and plural: {key[0]}: "{key[1]}"')
    for key in shipped:
        if key not in scanned:
            problems.append(f'no longer in the sources: {key[0]}: "{key[1]}"')
    for problem in problems:
        print(problem)
    print(f'{len(scanned)} plural strings checked, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
