"""The endpoint settings shared by the OpenAI-compatible chat and embeddings clients.

`OpenAILike` and `OpenAILikeEmbedder` resolve their base URL (argument, then the provider's base-URL
variable, then the provider default) and their bearer key the same way; they differ only in what they
accept (the chat client also reads SSE) and in how a missing key is explained.
"""

from __future__ import annotations

from typing import ClassVar

from engine import ConfigurationError

from ..errors import ModelAuthError
from ._http import HTTPConnection

__all__ = ["OpenAICompatibleEndpoint"]


class OpenAICompatibleEndpoint(HTTPConnection):
    """Base URL and headers of an OpenAI-compatible HTTP API (subclasses set `_base_url` in `__init__`)."""

    api_key_env: ClassVar[str | None] = None
    """Provider variable holding the key (read through `ProviderKeys`), or None when no key is needed."""
    base_url_env: ClassVar[str | None] = None
    """Provider variable overriding the base URL, or None."""
    default_base_url: ClassVar[str | None] = None
    """Base URL used when neither the argument nor `base_url_env` gives one; None means required."""
    accept: ClassVar[str] = "application/json"
    """The `Accept` header sent."""
    missing_key_hint: ClassVar[str] = "set it to use {cls}"
    """How to go on when `api_key_env` is unset (`{cls}` = the class name)."""

    _base_url: str | None

    def _resolve_base_url(self) -> str:
        """The API root without a trailing slash.

        Raises:
            ConfigurationError: no argument, variable or default gives one (names the variable).
        """
        base_url = self._base_url
        if base_url is None and self.base_url_env is not None:
            base_url = self._keys().secret(self.base_url_env)
        base_url = base_url or self.default_base_url
        if not base_url:
            where = f" or set {self.base_url_env}" if self.base_url_env else ""
            raise ConfigurationError(f"{type(self).__name__} needs a base URL: pass base_url=...{where}")
        return base_url.rstrip("/")

    def _request_headers(self) -> dict[str, str]:
        """JSON headers with the bearer key and the extra headers.

        Raises:
            ModelAuthError: `api_key_env` is set but the variable is not (names it).
        """
        headers = {"Content-Type": "application/json", "Accept": self.accept}
        api_key = self._api_key
        if api_key is None and self.api_key_env is not None:
            api_key = self._keys().secret(self.api_key_env)
            if api_key is None:
                hint = self.missing_key_hint.format(cls=type(self).__name__)
                raise ModelAuthError(
                    f"{self.api_key_env} is not set; {hint}", provider=self.provider, model_name=self._id
                )
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        headers.update(self._extra_headers)
        return headers
