"""Schemathesis hooks for bench/schemathesis.sh: aim some generated requests at real resources.

Random ids only ever find 404s, so without these the success paths (an image's bytes, a job's
JSON with results, a saved pipeline's versions, an upload taking a part) would go untested.
schemathesis.sh seeds one of each before the run and passes their ids in ATELIER_SEED_*; every
drawn set of path parameters is then either kept as generated or swapped for the seeded one,
so both the 404 and the found paths are exercised. Job submissions likewise sometimes name the
seeded image and pipeline. Hypothesis draws the choice, so a run stays reproducible by its seed.
"""

import os

import schemathesis
from hypothesis import strategies as st


def _seed(name):
    return os.environ.get(f"ATELIER_SEED_{name}")


# Path template prefix -> the seeded values of its path parameters.
SEEDED = {
    "/v1/images/": {"id": _seed("IMAGE")},
    "/v1/jobs/": {"id": _seed("JOB"), "name": _seed("OUTPUT")},
    "/v1/uploads/": {"id": _seed("UPLOAD")},
    "/v1/pipelines/": {"name": _seed("PIPELINE"), "version": 1},
}
# DELETE gets resources of its own, so deleting one does not turn the others' tests into 404s.
SEEDED_FOR_DELETE = {
    "/v1/images/": {"id": _seed("IMAGE_TO_DELETE")},
    "/v1/uploads/": {"id": _seed("UPLOAD_TO_DELETE")},
}


def _seeded_for(method, path):
    table = SEEDED_FOR_DELETE if method.lower() == "delete" else SEEDED
    for prefix, values in table.items():
        if path.startswith(prefix):
            return {name: value for name, value in values.items() if value is not None}
    return {}


@schemathesis.hook
def flatmap_path_parameters(ctx, path_parameters):
    if not path_parameters:
        return st.just(path_parameters)
    candidates = _seeded_for(ctx.operation.method, ctx.operation.path)
    seeded = {name: value for name, value in candidates.items() if name in path_parameters}
    if not seeded:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, **seeded}])


@schemathesis.hook
def flatmap_body(ctx, body):
    # POST /v1/jobs: sometimes over the seeded image, sometimes running the seeded pipeline.
    if ctx.operation.path != "/v1/jobs" or ctx.operation.method.lower() != "post" or not isinstance(body, dict):
        return st.just(body)
    image, pipeline = _seed("IMAGE"), _seed("PIPELINE")
    variants = [body]
    if image is not None and isinstance(body.get("images"), list):
        variants.append({**body, "images": [image]})
        if pipeline is not None:
            rest = {key: value for key, value in body.items() if key != "ops"}
            variants.append({**rest, "images": [image], "pipeline": pipeline})
    return st.sampled_from(variants)
