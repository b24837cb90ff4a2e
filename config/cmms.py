"""CMMS settings: where work requests are kept, where their closures come back, the retrain."""

from __future__ import annotations

from pydantic import Field

from models import ConfigRecord


class CmmsSettings(ConfigRecord):
    """The plant's maintenance system (``maintenance.cmms``): work requests out, closures in.

    Work requests are POSTed like the planner webhook (signed, durable outbox, retried); the
    webhook itself is ``maintenance.cmms_webhook``. Closures come back signed with the secret in
    ``receiver_secret_env``; with ``retrain_interval_h`` the running site retrains from them.
    """

    work_requests_file: str = Field(
        "work_requests.sqlite",
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        description="work requests and closures: a file name under data_dir",
    )
    receiver_host: str = Field("127.0.0.1", description="address of the closure receiver")
    receiver_port: int | None = Field(
        None, ge=0, le=65_535, description="closure receiver port; none: no receiver, 0: any"
    )
    receiver_secret_env: str = Field(
        "TRUSTFLOOR_CMMS_SECRET",
        min_length=1,
        description="environment variable holding the secret closures are signed with",
    )
    retrain_interval_h: float | None = Field(
        None,
        gt=0,
        le=366 * 24,
        description="retrain from the historian with the closures as labels this often, in "
        "the running site (a model is replaced only when better on held-out runs); none: never",
    )
