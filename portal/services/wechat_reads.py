"""What a mini-program's tabs read from WeChat (domains, testers, the privacy guideline, versions, the submit
form's pages and categories, the audit quota, the release state), kept per app for WECHAT_READ_CACHE_SECONDS.

Each of those reads spends the app's daily API quota, and a tab is reloaded far more often than its data
changes. The answers are kept in the coordination, so every process of the portal shows what one of them
fetched, sealed with the data key (a guideline holds the owner's contact details; the entry is bound to its
key, so it decrypts nowhere else). The portal's own writes drop the parts they change (`forget`), so a
merchant sees a change at once; what changed elsewhere (the mp console) shows within the setting's time, or
at once with the tab's "refresh from WeChat" button (`refresh`, rate-limited like every WeChat action).
Errors are never kept: the next view asks again. A read that was under way while the portal changed the same
part keeps nothing (`forget` notes when it dropped it), since WeChat may have answered before the change.
"""

import json
import logging
import time

from flask import current_app

from portal.coordination import coordination
from portal.errors import NotFound
from portal.secretbox import SecretDecryptError, binding
from portal.timeutil import epoch, from_epoch

log = logging.getLogger(__name__)

DOMAINS, TESTERS, PRIVACY, VERSIONS = "domains", "testers", "privacy", "versions"
SUBMIT_DEFAULTS, QUOTA, RELEASE = "submit-defaults", "quota", "release"

#: the parts each tab shows (what its "refresh from WeChat" button drops)
TABS = {"overview": (VERSIONS,), "domains": (DOMAINS,), "testers": (TESTERS,), "privacy": (PRIVACY,),
        "audit": (SUBMIT_DEFAULTS, QUOTA), "release": (RELEASE, VERSIONS)}


def _key(mp, part):
    return f"wechat-read:{mp.authorizer_appid}:{part}"


def _box():
    return current_app.extensions["secretbox"]


def _kept(key):
    """{"v": value, "at": epoch seconds} kept under `key`, or None. A store that is down or an entry sealed
    under a retired key costs a WeChat call, never the page."""
    try:
        sealed = coordination().recall(key)
        return None if sealed is None else json.loads(_box().decrypt(sealed, binding("cache", "wechat-read", key)))
    except SecretDecryptError:
        return None
    except Exception:  # noqa: BLE001 - the cache is an optimisation: read WeChat instead
        log.warning("WeChat read cache unavailable for %s", key, exc_info=True)
        return None


def _keep(key, entry, ttl):
    try:
        sealed = _box().encrypt(json.dumps(entry, ensure_ascii=False), binding("cache", "wechat-read", key))
        coordination().remember(key, sealed, ttl)
    except Exception:  # noqa: BLE001 - the answer is shown all the same; the next view asks WeChat again
        log.warning("WeChat read cache unavailable for %s", key, exc_info=True)


def read(mp, part, fetch):
    """`fetch()`'s answer (JSON-able) for `part` of `mp`, kept WECHAT_READ_CACHE_SECONDS: returns (answer,
    when WeChat gave it, naive UTC). Exceptions of `fetch` pass through and nothing is kept."""
    ttl, key = float(current_app.config.get("WECHAT_READ_CACHE_SECONDS", 60)), _key(mp, part)
    if ttl > 0:
        entry = _kept(key)
        if entry is not None:
            return entry["v"], from_epoch(entry["at"])
    asked = time.time()
    entry = {"v": fetch(), "at": epoch()}
    if ttl > 0 and not _dropped_since(key, asked):
        _keep(key, entry, ttl)
    return entry["v"], from_epoch(entry["at"])


def _dropped_since(key, moment):
    """Whether `forget` dropped `key` at or after `moment` (epoch seconds)."""
    try:
        dropped = coordination().recall(key + ":dropped")
        return dropped is not None and float(dropped) >= moment
    except Exception:  # noqa: BLE001 - unsure: keep nothing
        return True


def forget(mp, *parts):
    """Drop what is kept of `parts` of `mp` (after the portal changed them on WeChat)."""
    keys, ttl = [_key(mp, part) for part in parts], float(current_app.config.get("WECHAT_READ_CACHE_SECONDS", 60))
    # a read under way now must not keep what it fetched before the change: each key notes when it was dropped
    noted = {key + ":dropped": repr(time.time()) for key in keys} if ttl > 0 else {}
    try:
        coordination().replace(keys, noted, ttl)
    except Exception:  # noqa: BLE001 - logged: the tab may show the old answer until it expires
        log.warning("WeChat read cache: could not drop %s of %s", parts, mp.authorizer_appid, exc_info=True)


def refresh(mp, tab):
    """Drop what tab `tab` shows, so its next view reads WeChat. :raise NotFound: no such tab."""
    if tab not in TABS:
        raise NotFound()
    forget(mp, *TABS[tab])
