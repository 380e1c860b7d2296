"""Settings read from the environment; SQLite under instance/ when nothing is set."""
from __future__ import annotations

import json
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def instance_path() -> Path:
    path = Path(os.environ.get("SVCPROC_INSTANCE", ROOT / "instance")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    key_file = instance / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def normalise_database_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a driver name.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _json_env(name: str, default: dict) -> dict:
    """A dict setting: the default, with the keys of a JSON object in the environment variable over it."""
    raw = os.environ.get(name)
    if not raw:
        return dict(default)
    try:
        given = json.loads(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be a JSON object") from None
    if not isinstance(given, dict):
        raise RuntimeError(f"{name} must be a JSON object")
    return {**default, **{key: tuple(value) if isinstance(value, list) else value for key, value in given.items()}}


# The longest each deadline after the award may be: the law's own figure.
LEGAL_DEADLINES = {"award_notice_working_days": 2, "signature_days": 30, "contract_notice_working_days": 2,
                   "payment_days": 60, "payment_days_max": 60}


def _check_deadlines(deadlines: dict) -> None:
    for key, most in LEGAL_DEADLINES.items():
        value = deadlines.get(key)
        if not isinstance(value, int) or not 1 <= value <= most:
            raise RuntimeError(f"PROCUREMENT_DEADLINES[{key!r}] must be a whole number from 1 to {most}, not {value!r}")
    if deadlines["payment_days"] > deadlines["payment_days_max"]:
        raise RuntimeError("PROCUREMENT_DEADLINES: payment_days may not exceed payment_days_max")


def load_config(overrides: dict | None = None) -> dict:
    instance = instance_path()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'svcproc.db'}"
    config = {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # PostgreSQL's planner price of a random page read, set on each connection (see create_app).
        "POSTGRES_RANDOM_PAGE_COST": os.environ.get("POSTGRES_RANDOM_PAGE_COST", "1.1").strip(),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        # Base64 32-byte key for data encrypted at rest; generated into instance/data_key when unset.
        "DATA_KEY": os.environ.get("DATA_KEY") or None,
        # The purchasing bureau, named as a party on contracts and reports.
        "BUREAU_NAME": os.environ.get("BUREAU_NAME", "成都市武侯区民政局"),
        "BUREAU_NAME_EN": os.environ.get("BUREAU_NAME_EN", "Civil Affairs Bureau of Wuhou District, Chengdu"),
        # Whom a resident or a supplier reaches about a notice (named on every public notice).
        "BUREAU_CONTACT_NAME": os.environ.get("BUREAU_CONTACT_NAME", "政府采购科"),
        "BUREAU_CONTACT_PHONE": os.environ.get("BUREAU_CONTACT_PHONE", "028-85550000"),
        "BUREAU_ADDRESS": os.environ.get("BUREAU_ADDRESS", "成都市武侯区武侯祠大街 1 号"),
        # Public figures per area never show a count below this (it reads "withheld", as does any figure
        # from which one could be worked out).
        "PUBLIC_MIN_CELL": int(os.environ.get("PUBLIC_MIN_CELL", "10")),
        # The results pages decide every area's figures together (secondary suppression), which reads
        # the whole service log: they are stored, and decided again by a job once older than this
        # many seconds (0: decided for each page).
        "PUBLIC_FIGURES_CACHE_SECONDS": int(os.environ.get("PUBLIC_FIGURES_CACHE_SECONDS", "600")),
        # The address the public reaches the application at: printed reports carry
        # <PUBLIC_URL>/verify/<code> and its QR code on every page, so a reader of the paper can follow it.
        "PUBLIC_URL": (os.environ.get("PUBLIC_URL") or "http://127.0.0.1:5000").strip().rstrip("/"),
        # Its unified social credit code (identifies it in the OCDS data when set).
        "BUREAU_CREDIT_CODE": os.environ.get("BUREAU_CREDIT_CODE", ""),
        # The bureau's OCDS prefix (registered with the Open Contracting Partnership); an ocid is this
        # prefix followed by the tender's number.
        "OCDS_PREFIX": os.environ.get("OCDS_PREFIX", "ocds-xxxxxx-"),
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER") or str(instance / "uploads"),
        # Where uploaded and generated files live: "local" (UPLOAD_FOLDER on this host) or "database"
        # (chunked rows in the shared database, for several hosts).
        "FILE_STORAGE": os.environ.get("FILE_STORAGE") or "local",
        # Sessions end after two idle hours; a request renews the cookie when it was signed a minute
        # or more before (accounts/sessions.py).
        "PERMANENT_SESSION_LIFETIME": timedelta(
            minutes=int(os.environ.get("SESSION_LIFETIME_MINUTES", "120"))
        ),
        "SESSION_REFRESH_EACH_REQUEST": True,
        "SESSION_RENEW_AFTER_SECONDS": 60,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": True,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh_CN", "en"],
        # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", "0")),
        # Years after a contract closes (or ends) before the people it served are anonymised.
        "RETENTION_YEARS_AFTER_CLOSE": int(os.environ.get("RETENTION_YEARS_AFTER_CLOSE", "5")),
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_MINUTES": int(os.environ.get("LOGIN_LOCK_MINUTES", "15")),
        "PAGE_SIZE": 25,
        # Rate limits per address ("N per minute"); the store is Redis when configured, so several
        # web hosts share the counts (memory on one host otherwise).
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") == "1",
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATE_LIMITS": {
            "accounts.login": ("POST", os.environ.get("RATE_LIMIT_LOGIN", "10 per minute")),
            "public.need_new": ("POST", os.environ.get("RATE_LIMIT_NEEDS", "5 per 10 minutes")),
            "reports.verify": ("GET", os.environ.get("RATE_LIMIT_VERIFY", "30 per minute")),
            "reports.verify_form": ("GET", os.environ.get("RATE_LIMIT_VERIFY", "30 per minute")),
            "reports.verify_upload": ("POST", os.environ.get("RATE_LIMIT_VERIFY", "30 per minute")),
        },
        "RATE_LIMIT_API": os.environ.get("RATE_LIMIT_API", "300 per minute"),
        "HTMX_CDN_URL": os.environ.get(
            "HTMX_CDN_URL", "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js"
        ),
        # A tender with fewer valid bids than this fails (流标): a public tender needs three (政府采购法
        # art. 36), an inquiry three suppliers (财政部令第74号). Single-source procurement has, by
        # definition, one supplier.
        "MIN_VALID_BIDS": {"public_tender": 3, "competitive_consultation": 2, "competitive_negotiation": 2,
                           "inquiry": 3, "single_source": 1},
        # The rules of law a tender is held to (docs: DOMAIN.md "Rules of law"); a locality may
        # lengthen a period or enlarge a panel through the environment (a JSON object merged over
        # these defaults), never go below the law.
        # Documents issued -> bid (response) deadline, by method: (days, "days" | "working_days").
        # 政府采购法 art. 35; 财库〔2014〕214号; 财政部令第74号. Single source has no such period.
        "PROCUREMENT_MIN_BIDDING_DAYS": _json_env("PROCUREMENT_MIN_BIDDING_DAYS", {
            "public_tender": (20, "days"), "competitive_consultation": (10, "days"),
            "competitive_negotiation": (3, "working_days"), "inquiry": (3, "working_days")}),
        # The evaluation panel: an odd number of experts without a conflict, at least this many by
        # method (财政部令第87号 art. 47; 财库〔2014〕214号; 财政部令第74号) ...
        "MIN_EXPERTS": _json_env("MIN_EXPERTS", {
            "public_tender": 5, "competitive_consultation": 3, "competitive_negotiation": 3, "inquiry": 3,
            "single_source": 1}),
        # ... and at least LARGE_TENDER_MIN_EXPERTS on a public tender whose budget (its ceiling price,
        # fen) reaches LARGE_TENDER_FEN (财政部令第87号 art. 47: ¥10 M).
        "LARGE_TENDER_FEN": int(os.environ.get("LARGE_TENDER_FEN", str(10_000_000 * 100))),
        "LARGE_TENDER_MIN_EXPERTS": int(os.environ.get("LARGE_TENDER_MIN_EXPERTS", "7")),
        # The award's publicity period, in working days (实施条例 art. 43: 1 working day).
        "MIN_PUBLICITY_WORKING_DAYS": int(os.environ.get("MIN_PUBLICITY_WORKING_DAYS", "1")),
        # Objections and complaints, in working days (docs: DOMAIN.md "Rules of law"): a supplier objects
        # within OBJECTION_WORKING_DAYS of the documents' issue or of the end of the award's publicity
        # (政府采购法 art. 52; 财政部令第94号 arts. 10-11); the bureau answers within
        # OBJECTION_ANSWER_WORKING_DAYS of receipt (art. 13); the objector may complain to the finance
        # department within COMPLAINT_WORKING_DAYS after the answer was due (art. 17; 政府采购法 art. 55).
        "OBJECTION_WORKING_DAYS": int(os.environ.get("OBJECTION_WORKING_DAYS", "7")),
        "OBJECTION_ANSWER_WORKING_DAYS": int(os.environ.get("OBJECTION_ANSWER_WORKING_DAYS", "7")),
        "COMPLAINT_WORKING_DAYS": int(os.environ.get("COMPLAINT_WORKING_DAYS", "15")),
        # Money guarantees and fairness (docs: DOMAIN.md "Rules of law"; svcproc/procurement/guarantees.py).
        # A bid deposit at most this share of the project budget (the tender's ceiling price), in
        # percent (实施条例 art. 33: 2 %), returned within BID_DEPOSIT_RETURN_WORKING_DAYS working days
        # of the award notice (the winner's: of the contract's signature).
        "BID_DEPOSIT_MAX_PERCENT": int(os.environ.get("BID_DEPOSIT_MAX_PERCENT", "2")),
        "BID_DEPOSIT_RETURN_WORKING_DAYS": int(os.environ.get("BID_DEPOSIT_RETURN_WORKING_DAYS", "5")),
        # A performance bond at most this share of the contract amount, in percent (实施条例 art. 48).
        "PERFORMANCE_BOND_MAX_PERCENT": int(os.environ.get("PERFORMANCE_BOND_MAX_PERCENT", "10")),
        # The price deduction for a small or micro enterprise's bid on services, in percent of its
        # price, for its price score only (财库〔2020〕46号 art. 9, 财库〔2022〕19号: 10-20 %): each
        # tender sets one within the range; a new tender starts from the default.
        "SME_DEDUCTION_RANGE": (int(os.environ.get("SME_DEDUCTION_MIN", "10")),
                                int(os.environ.get("SME_DEDUCTION_MAX", "20"))),
        "SME_DEDUCTION_DEFAULT": int(os.environ.get("SME_DEDUCTION_DEFAULT", "10")),
        # An abnormally low bid (财政部令第87号 art. 60): a price below this percentage of the mean
        # price of the bids still in the running (itself included) must be explained in writing
        # before the bids are ranked.
        "ABNORMALLY_LOW_PERCENT_OF_MEAN": int(os.environ.get("ABNORMALLY_LOW_PERCENT_OF_MEAN", "80")),
        # An organization's rating (1A-5A) holds this many years from the day it was given (民政部令第39号).
        "RATING_VALID_YEARS": 5,
        # The deadlines after the award (svcproc/contracts/deadlines.py): reminders to the bureau before
        # them, red flags once missed. A locality may shorten one through the environment (a JSON
        # object merged over these defaults), never lengthen it past the law.
        "PROCUREMENT_DEADLINES": _json_env("PROCUREMENT_DEADLINES", {
            # award decision -> award (result) notice, working days (实施条例 art. 43; 财政部令第87号 art. 69)
            "award_notice_working_days": 2,
            # award notice -> contract signed, days (政府采购法 art. 46)
            "signature_days": 30,
            # contract signed -> contract notice, working days (实施条例 art. 50)
            "contract_notice_working_days": 2,
            # accepted milestone -> payment, days: a contract's term unless it agrees another ...
            "payment_days": 30,
            # ... which may not pass this (保障中小企业款项支付条例 art. 8)
            "payment_days_max": 60,
        }),
        # The thresholds of the procurement red flags on the auditor's desk (svcproc/monitoring/flags.py);
        # the deadlines after the award are PROCUREMENT_DEADLINES.
        "PROCUREMENT_FLAGS": {
            "ceiling_ratio_percent": 98,       # award at or above this share of the ceiling price
            "amendment_days": 30,              # an amendment this soon after signing
            "amendment_cap_percent": 10,       # added amounts may not pass this share of the original
            "amendment_near_cap_percent": 9,   # added amounts at or above this share: near the cap
            "single_source_repeats": 2,        # single-source awards to one organization in a year
            "award_share_percent": 50,         # share of a year's award amounts won by one organization
            "award_share_min_awards": 3,       # ... among at least this many awards that year
            "category_count": 3,               # service categories one organization won in a year
            "percent_apart_max": 10,           # bids an exact whole percentage apart, up to this much
        },
        # Reminder e-mails from `svcproc remind --send`; off unless a mail server is configured.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "0") == "1",
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_FROM": os.environ.get("MAIL_FROM", "svcproc@localhost"),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024,
        # A background job may run this long on a worker (RQ stops it then); a job of another host
        # still queued or running after it (and a few minutes more) is taken as orphaned at start-up.
        "JOB_TIMEOUT_MINUTES": int(os.environ.get("JOB_TIMEOUT_MINUTES", "60")),
        # Ledger files: rows at most, and for an .xlsx (a zip archive) its unpacked size and the
        # compression ratio of any part, checked before any of it is parsed.
        "LEDGER_MAX_ROWS": int(os.environ.get("LEDGER_MAX_ROWS", "200000")),
        "LEDGER_MAX_UNPACKED_MB": int(os.environ.get("LEDGER_MAX_UNPACKED_MB", "256")),
        "LEDGER_MAX_COMPRESSION_RATIO": int(os.environ.get("LEDGER_MAX_COMPRESSION_RATIO", "100")),
    }
    if overrides:
        config.update(overrides)
    if config["FILE_STORAGE"] not in ("local", "database"):
        raise RuntimeError(f"FILE_STORAGE must be local or database, not {config['FILE_STORAGE']!r}")
    _check_deadlines(config["PROCUREMENT_DEADLINES"])
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", config["PUBLIC_URL"]):
        raise RuntimeError(f"PUBLIC_URL must be an http:// or https:// address, not {config['PUBLIC_URL']!r}")
    return config
