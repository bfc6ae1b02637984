#!/usr/bin/env bash
# `make engine`'s Debian packages: etcd (backs the local kube-apiserver) and openssl (its serving certificate).
# A fresh machine's package lists may never have been read: they are updated before anything is installed.
set -uo pipefail

missing=()
command -v etcd >/dev/null || missing+=(etcd-server)
command -v openssl >/dev/null || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "engine: installing ${missing[*]} (Debian's packages; the package lists are updated first)"
if ! command -v apt-get >/dev/null; then
  echo "engine: ${missing[*]} missing and no apt-get here: install them with this machine's package manager, then run make engine again" >&2
  exit 1
fi
if ! log=$(apt-get update -qq 2>&1); then
  echo "engine: apt-get update failed ($(printf '%s' "$log" | grep -m1 -E '^(E|W):' || printf '%s' "$log" | tail -n 1)): fix the package sources, then run make engine again" >&2
  exit 1
fi
if ! log=$(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" 2>&1); then
  echo "engine: apt-get install ${missing[*]} failed ($(printf '%s' "$log" | grep -m1 -E '^E:' || printf '%s' "$log" | tail -n 1)): run it by hand to see why, then make engine again" >&2
  exit 1
fi
for program in etcd openssl; do
  command -v "$program" >/dev/null || { echo "engine: $program is still missing after apt-get install: install it, then run make engine again" >&2; exit 1; }
done
