#!/usr/bin/env bash
# Fails when a relative link in README.md, CHANGELOG.md or docs/**/*.md does not resolve: the file or folder it
# names must exist in the repository, and a `#fragment` pointing into a Markdown file must name
# one of its headings (GitHub's anchor rules). Links to other sites (scheme://, mailto:) are not
# fetched. Links inside code blocks and code spans are not links and are skipped.
#
#   tests/docs/check_links.sh [ROOT]     # ROOT: the repository (default: this script's repo)
#
# Prints one line per broken link (file:line: target: why) and exits 1 if there is any.
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec python3 - "$root" <<'PY'
import os, re, sys, unicodedata

root = os.path.abspath(sys.argv[1])
LINK = re.compile(r'!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
FENCE = re.compile(r'^\s*(```|~~~)')
CODE_SPAN = re.compile(r'(`+)(?:(?!\1).)+?\1')

def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r'`([^`]*)`', r'\1', heading.strip())
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', text)
    out = []
    for ch in text.lower():
        cat = unicodedata.category(ch)
        if ch in ' ':
            out.append('-')
        elif ch in '-_' or cat[0] in 'LN' or cat == 'Mn':
            out.append(ch)
    return ''.join(out)

def lines_outside_code(path):
    fenced = False
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if fenced or line.startswith('    ') and not line.lstrip().startswith(('-', '*', '|')):
                continue
            yield number, line, CODE_SPAN.sub('', line)

anchors_cache = {}
def anchors(path):
    if path not in anchors_cache:
        seen, found = {}, set()
        for _, line, _ in lines_outside_code(path):
            m = re.match(r'^(#{1,6})\s+(.*?)\s*#*\s*$', line)
            if m:
                base = slug(m.group(2))
                n = seen.get(base, 0)
                seen[base] = n + 1
                found.add(base if n == 0 else f'{base}-{n}')
        anchors_cache[path] = found
    return anchors_cache[path]

files = [os.path.join(root, n) for n in ('README.md', 'CHANGELOG.md')
         if os.path.isfile(os.path.join(root, n))]
for folder, _, names in os.walk(os.path.join(root, 'docs')):
    files += [os.path.join(folder, n) for n in sorted(names) if n.endswith('.md')]
if not files:
    print(f'check_links: no README.md or docs/*.md under {root}', file=sys.stderr)
    sys.exit(2)

broken = 0
for path in files:
    for number, _, line in lines_outside_code(path):
        for target in LINK.findall(line):
            if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', target):
                continue  # https:, mailto: ...: not a file of the repository
            where, _, fragment = target.partition('#')
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), where)) if where else path
            rel = os.path.relpath(path, root)
            why = None
            if not resolved.startswith(root + os.sep) and resolved != root:
                why = 'points outside the repository'
            elif not os.path.exists(resolved):
                why = 'no such file or folder'
            elif fragment and resolved.endswith('.md') and os.path.isfile(resolved):
                if fragment not in anchors(resolved):
                    why = f'no heading with anchor #{fragment} in {os.path.relpath(resolved, root)}'
            if why:
                print(f'{rel}:{number}: {target}: {why}')
                broken += 1
if broken:
    print(f'check_links: {broken} broken link(s) in {len(files)} files', file=sys.stderr)
    sys.exit(1)
print(f'check_links: every relative link of {len(files)} files resolves')
PY
