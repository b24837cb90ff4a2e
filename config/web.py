"""Settings of the web console: where it listens, its TLS certificate, its sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from models import ConfigRecord


class WebSettings(ConfigRecord):
    """The web console and the public verification page, served by the site's own process."""

    enabled: bool = Field(
        False, description="serve the web console beside the OPC UA server (demo: on)"
    )
    host: str = Field("127.0.0.1", description="address to bind; 0.0.0.0 serves every interface")
    port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")
    tls_cert_file: Path | None = Field(
        None, description="PEM certificate (chain) for HTTPS; relative to the config file"
    )
    tls_key_file: Path | None = Field(
        None, description="PEM private key of tls_cert_file; keep it 0600"
    )
    session_idle_s: float = Field(
        900.0, gt=0, le=86_400, description="a session unused this long signs its user out"
    )
    public_requests_per_minute: int = Field(
        30, ge=1, le=10_000, description="verification page requests one address may make"
    )

    @model_validator(mode="after")
    def _certificate_and_key_together(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("give both tls_cert_file and tls_key_file, or neither")
        return self

    def relative_to(self, base_dir: Path) -> WebSettings:
        """The same settings with relative certificate and key paths taken from ``base_dir``."""
        update = {
            name: base_dir / path
            for name, path in (
                ("tls_cert_file", self.tls_cert_file),
                ("tls_key_file", self.tls_key_file),
            )
            if path is not None and not path.is_absolute()
        }
        return self.model_copy(update=update)

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None

    @property
    def url(self) -> str:
        """Where a browser on this host reaches the console."""
        scheme = "https" if self.tls else "http"
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"{scheme}://{host}:{self.port}/"
