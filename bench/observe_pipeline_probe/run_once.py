"""One observe_pipeline run with the job's own executor (as the daemon launches it): prints its
wall time and the processes its events came from, as JSON."""

import json
import time

from dagster import DagsterInstance, execute_job, reconstructable


def observe_pipeline_job():
    from definitions import defs

    return defs.resolve_job_def("observe_pipeline")


if __name__ == "__main__":
    with DagsterInstance.local_temp() as instance:
        began = time.perf_counter()
        with execute_job(reconstructable(observe_pipeline_job), instance) as result:
            seconds = time.perf_counter() - began
            events = [e.dagster_event for e in instance.all_logs(result.run_id) if e.dagster_event]
            pids = {e.pid for e in events if e.pid is not None}  # planning events carry none
            print(json.dumps({"success": result.success, "seconds": seconds, "pids": len(pids)}))
