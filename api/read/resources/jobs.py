"""The ad-hoc job resources: ``POST /api/v1/jobs`` (202 and the job; 429 when the job
slots are busy), ``GET /api/v1/jobs/{job_id}`` and its ``/result`` (JSON or CSV); the jobs
themselves are :mod:`api.read.jobs`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import falcon

from api.read import render
from api.read.resources.common import Access, bad_request, now, read_json, wants_csv


class JobsResource:
    """Ad-hoc questions as Spark jobs: ``POST /api/v1/jobs`` (202 + job),
    ``GET /api/v1/jobs/{job_id}``, ``GET /api/v1/jobs/{job_id}/result``. ``clock``: the
    app's (what "today" is for a job's range, and when a job has waited or run too long)."""

    def __init__(self, jobs, access: Access, body_limit: int,
                 clock: Callable[[], datetime] = now):
        self.jobs = jobs
        self.access = access
        self.body_limit = body_limit
        self.clock = clock

    def on_post(self, req, resp):
        from api.read.jobs import JobError, JobsBusy

        spec = read_json(req, self.body_limit)
        if not isinstance(spec, dict):
            raise bad_request("job: must be a JSON object", "invalid_job")
        if not isinstance(spec.get("site_id"), str) or not spec["site_id"]:
            raise bad_request("site_id: must be a site id (a string)", "invalid_job")
        site = self.access.site(req, spec["site_id"])
        try:
            job = self.jobs.submit(site, spec, self.clock(), owner=req.context.principal.key)
        except JobError as exc:
            raise bad_request(str(exc), "invalid_job") from None
        except JobsBusy as exc:
            raise falcon.HTTPTooManyRequests(
                title=exc.code, description=str(exc) or "too many ad-hoc jobs running",
                retry_after=int(getattr(exc, "retry_after_s", 30))) from None
        resp.status = falcon.HTTP_200 if job.get("status") == "succeeded" else falcon.HTTP_202
        resp.location = f"/api/v1/jobs/{job['job_id']}"
        render.json_response(resp, job, status=resp.status)

    def on_get_job(self, req, resp, job_id):
        render.json_response(resp, self._job(req, job_id))

    def on_get_result(self, req, resp, job_id):
        job = self._job(req, job_id)
        if job["status"] != "succeeded":
            raise falcon.HTTPConflict(title="not_ready", description=(
                f"job {job_id} is {job['status']}" + (f": {job['error']}"
                                                     if job.get("error") else "")))
        from api.read.jobs import JobNotReady

        try:
            result = self.jobs.result(job_id, self.clock())
        except JobNotReady as exc:  # it timed out between the two reads
            raise falcon.HTTPConflict(title="not_ready", description=(
                f"job {job_id} is {exc.job['status']}")) from None
        if result is None:
            raise falcon.HTTPNotFound(title="unknown_job", description=f"no job {job_id!r}")
        if wants_csv(req):
            columns = result["columns"]
            render.csv_response(resp, columns, [dict(zip(columns, r, strict=False))
                                                for r in result["rows"]], f"job-{job_id}.csv")
        else:
            render.json_response(resp, result)

    def _job(self, req, job_id):
        job = self.jobs.status(job_id, self.clock())
        if job is None:
            raise falcon.HTTPNotFound(title="unknown_job", description=f"no job {job_id!r}")
        self.access.site(req, job["site_id"])
        return job
