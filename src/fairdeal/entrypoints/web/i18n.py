"""Every user-facing string of the web pages goes through gettext. English is the source
language; NullTranslations serves it until catalogues exist (see docs/web.md)."""

from __future__ import annotations

import gettext

translations = gettext.NullTranslations()
_ = translations.gettext
ngettext = translations.ngettext
