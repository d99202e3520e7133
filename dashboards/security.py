"""HTTP hardening of the dashboards' Flask server: trusted Host names and the browser security headers.

A request whose ``Host`` header names no allowed host gets 400 (DNS rebinding: a page on another site
that resolves its own name to 127.0.0.1 cannot read the dashboards). Every response carries a
Content-Security-Policy that runs only the app's own scripts plus Dash's inline renderer (by hash),
refuses framing (clickjacking), MIME sniffing and cross-site referrers.
"""

from __future__ import annotations

from collections.abc import Iterable

import dash
import flask

LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost")
"""Always allowed: the names a browser on this machine uses."""

STYLE_SRC = "'self' 'unsafe-inline'"
"""Plotly and Dash's components insert <style> elements at run time: inline styles cannot be hashed ahead."""


def content_security_policy(script_hashes: Iterable[str]) -> str:
    """The policy: everything from this origin only, inline scripts only by hash, no plugins, no framing."""
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *script_hashes]),
        "style-src": STYLE_SRC,
        "img-src": "'self' data: blob:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def allowed_hosts(bound_host: str | None, extra: Iterable[str] = ()) -> list[str]:
    """The loopback names, the interface the server binds (unless a wildcard) and ``extra``, without repeats."""
    hosts = [*LOOPBACK_HOSTS, *([bound_host] if bound_host and bound_host not in ("0.0.0.0", "::") else []), *extra]
    return list(dict.fromkeys(host.strip().lower() for host in hosts if host.strip()))


def harden(app: dash.Dash, hosts: Iterable[str]) -> None:
    """Serve ``app`` only to ``hosts`` (Flask's TRUSTED_HOSTS: 400 otherwise) with the headers on every response.

    Call after every callback is declared: the policy hashes the inline scripts Dash knows of then.
    """
    server: flask.Flask = app.server
    server.config["TRUSTED_HOSTS"] = list(hosts)
    headers = {
        "Content-Security-Policy": content_security_policy(app.csp_hashes()),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
    }

    @server.after_request
    def add_headers(response: flask.Response) -> flask.Response:
        response.headers.update(headers)
        return response
