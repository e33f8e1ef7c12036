#!/bin/sh
# po/ is complete: POTFILES.in names exactly the files with translatable
# strings, sorted, and every translation covers every string, none fuzzy.
set -eu
src=${1:?source dir}
cd "$src"
status=0

listed=$(grep -v '^#' po/POTFILES.in | grep .)
sorted=$(printf '%s\n' "$listed" | LC_ALL=C sort)
if [ "$listed" != "$sorted" ]; then
  echo "po/POTFILES.in is not sorted"
  status=1
fi
marked=$( { grep -lE '(^|[^a-zA-Z0-9_])(_|N_|C_|NC_|ngettext|g_dngettext) ?\(' src/*/*.c;
            ls data/*.desktop.in data/*.gschema.xml; } | LC_ALL=C sort)
if [ "$listed" != "$marked" ]; then
  echo "po/POTFILES.in differs from the files with translatable strings:"
  diff -u /dev/fd/3 /dev/fd/4 3<<A 4<<B || true
$listed
A
$marked
B
  status=1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' "$listed" > "$tmp/files"
xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
  --keyword=ngettext:1,2 --keyword=g_dngettext:2,3 -f "$tmp/files" -o "$tmp/all.pot"
for lang in $(cat po/LINGUAS); do
  msgmerge --quiet --no-fuzzy-matching "po/$lang.po" "$tmp/all.pot" -o "$tmp/$lang.po"
  stats=$(msgfmt --check --statistics -o /dev/null "$tmp/$lang.po" 2>&1)
  case "$stats" in
    *untranslated*|*fuzzy*) echo "po/$lang.po is incomplete: $stats"; status=1 ;;
    *) echo "po/$lang.po: $stats" ;;
  esac
done
exit $status
