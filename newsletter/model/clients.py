"""The email clients ``[check] clients`` can name, and what caniemail.com calls each.

One table: the settings accept exactly these names, and the client-support check reads the
caniemail family and platforms of each from here.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CLIENTS", "DEFAULT_CLIENTS"]

#: ``[check] clients`` name -> (caniemail family, its platforms that count, label). The
#: platforms are the apps and webmails people read on today; caniemail also tests legacy ones
#: (Gmail's basic-HTML mobile site) that would only add noise.
CLIENTS: Mapping[str, tuple[str, tuple[str, ...], str]] = {
    "gmail": ("gmail", ("desktop-webmail", "ios", "android"), "Gmail"),
    "outlook-windows": ("outlook", ("windows",), "Outlook for Windows"),
    "outlook-mac": ("outlook", ("macos",), "Outlook for Mac"),
    "outlook-com": ("outlook", ("outlook-com",), "Outlook.com"),
    "outlook-ios": ("outlook", ("ios",), "Outlook for iOS"),
    "outlook-android": ("outlook", ("android",), "Outlook for Android"),
    "apple-mail": ("apple-mail", ("macos", "ios"), "Apple Mail"),
    "yahoo": ("yahoo", ("desktop-webmail", "ios", "android"), "Yahoo Mail"),
    "aol": ("aol", ("desktop-webmail", "ios", "android"), "AOL"),
    "samsung-email": ("samsung-email", ("android",), "Samsung Email"),
    "thunderbird": ("thunderbird", ("macos", "windows"), "Thunderbird"),
    "protonmail": ("protonmail", ("desktop-webmail", "ios", "android"), "Proton Mail"),
    "fastmail": ("fastmail", ("desktop-webmail",), "Fastmail"),
    "hey": ("hey", ("desktop-webmail",), "HEY"),
}

#: The clients checked when ``[check] clients`` is not set: where most subscribers read.
DEFAULT_CLIENTS = ("gmail", "outlook-windows", "outlook-com", "apple-mail", "yahoo")
