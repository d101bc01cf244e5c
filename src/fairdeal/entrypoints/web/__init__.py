"""The resolution centre in the browser: server-rendered pages over the same services as the
HTTP API. ``install`` mounts them on the API application."""

from fairdeal.entrypoints.web.site import WebConfigError, install

__all__ = ["WebConfigError", "install"]
