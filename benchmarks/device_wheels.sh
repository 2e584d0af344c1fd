#!/bin/bash
# The Python packages the lent GPU machine lacks, as wheels in .whl/ (ignored by git: /.whl/ in .git/info/exclude),
# for benchmarks/device_check.sh, which installs them there with pip --no-index (that machine has no network).
#
#   bash benchmarks/device_wheels.sh        # here, before the device run; idempotent: a wheel present is kept
#
# The device has Python 3.12 (x86-64, manylinux) with torch 2.11, numpy, pandas, scipy, matplotlib, pyyaml, psutil,
# tqdm, pytest; it lacks ale-py, gymnasium and pydantic with their dependencies. Versions: pyproject.toml's pins
# (ale-py, gymnasium, pydantic), and what those wheels' METADATA requires for the rest (pydantic-core is pinned by
# pydantic to one version). cloudpickle is gymnasium's, imported only by its async vector env, carried anyway.
# typing-extensions: torch brings one, but pydantic 2.14.4 and pydantic-core need >= 4.16.0 (pydantic-core imports
# its Sentinel); the carried one comes first on PYTHONPATH, for torch too (the package stays backward compatible).
# Snakemake and Stable-Baselines3 are not carried: the device check runs neither the workflow nor the SB3 peer.
# Prints the wheels and their total size; the device tool carries at most 64 MiB (working tree included).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
WHEELS=(ale-py==0.12.1 gymnasium==1.4.0 farama-notifications==0.0.6 cloudpickle==3.1.3 pydantic==2.14.4
        pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 typing-extensions==4.16.0)

grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || { mkdir -p .git/info; echo /.whl/ >> .git/info/exclude; }
mkdir -p .whl
for spec in "${WHEELS[@]}"; do
  name=${spec%%==*} version=${spec##*==}
  # wheel file names spell the distribution with underscores (ale_py-0.12.1-..., farama_notifications-...)
  if compgen -G ".whl/${name//-/_}-${version}-*.whl" > /dev/null; then
    continue
  fi
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "$spec"
done

# pydantic pins its core: the carried pydantic-core must be the one pydantic's METADATA names
need=$(unzip -p .whl/pydantic-2.14.4-*.whl '*/METADATA' | sed -n 's/^Requires-Dist: pydantic-core==\([0-9.]*\).*/\1/p')
have=$(ls .whl | sed -n 's/^pydantic_core-\([0-9.]*\)-.*/\1/p')
if [ "$need" != "$have" ]; then
  echo "error: pydantic 2.14.4 requires pydantic-core==$need, .whl holds ${have:-none}; accepted: edit WHEELS" >&2
  exit 2
fi
ls -l .whl
echo "wheels: $(ls .whl/*.whl | wc -l) files, $(du -sh .whl | cut -f1) in .whl/ (the device tool carries at most 64 MiB)"
