# Sourced by the fetch scripts: `checked_install NAME FILE.tmp FILE SHA256` keeps FILE.tmp as
# FILE only when its sha256 is SHA256 (a fetched or generated file is never used unchecked).
checked_install() {
  local name=$1 tmp=$2 out=$3 want=$4 got
  got=$(sha256sum "$tmp" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    echo "$name: sha256 mismatch: got $got, want $want" >&2
    rm -f "$tmp"
    exit 1
  fi
  mv "$tmp" "$out"
  echo "$out"
}
