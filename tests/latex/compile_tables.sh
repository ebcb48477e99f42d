#!/usr/bin/env bash
# Compile every LaTeX table subbench wrote under DIR (default reports/quick) with plain pdflatex,
# booktabs and graphicx in a standard article, as a paper would include it. Exit 1 naming each
# table that does not compile or is wider than the text (an overfull box).
set -euo pipefail
dir="${1:-reports/quick}"
command -v pdflatex >/dev/null || { echo "pdflatex not found: apt-get install texlive-latex-base texlive-latex-recommended" >&2; exit 1; }
shopt -s nullglob
tables=("$dir"/*.tex)
[ ${#tables[@]} -gt 0 ] || { echo "$dir: no .tex tables (run \`just check\` first)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
for table in "${tables[@]}"; do
    name="$(basename "$table" .tex)"
    cp "$table" "$work/table.tex"
    printf '%s\n' '\documentclass{article}' '\usepackage{booktabs,graphicx}' '\begin{document}' \
        '\input{table.tex}' '\end{document}' > "$work/doc.tex"
    if ! (cd "$work" && pdflatex -interaction=nonstopmode -halt-on-error doc.tex > log.txt 2>&1); then
        echo "FAIL $table: $(grep -m1 '^!' "$work/log.txt" || echo 'pdflatex failed')" >&2
        failed=1
    elif grep -q 'Overfull \\hbox' "$work/doc.log"; then
        echo "FAIL $table: $(grep -m1 'Overfull \\hbox' "$work/doc.log")" >&2
        failed=1
    fi
done
[ "$failed" -eq 0 ] && echo "${#tables[@]} tables in $dir compile with pdflatex + booktabs"
exit "$failed"
