"""Django settings, read from environment variables in this one place.

Defaults make the embedded demo work with no configuration: SQLite in WAL mode under
``CAMPUS_SAFETY_DATA_DIR`` (default ``./var``) and a secret key generated once and kept
there. Production sets ``DATABASE_URL``, ``REDIS_URL``, ``MQTT_URL`` and ``SECRET_KEY``.
"""

import datetime as dt
import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_noop

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("CAMPUS_SAFETY_DATA_DIR", "var")).resolve()
# Front-end packages (ECharts, Leaflet, htmx) come from the npm registry at install time
# into node_modules/ at the checkout root; nothing vendored is committed.
VENDOR_DIR = Path(
    os.environ.get("CAMPUS_SAFETY_VENDOR_DIR", PACKAGE_DIR.parent.parent / "node_modules")
)


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """Keep one generated key per data dir so sessions survive restarts."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Personal data at rest (personal_data.py): the Fernet key ring, newest first, and the
# keyed-hash key. Every process of a cluster must have the same ones; unset, each process
# generates its own into its data dir (one process; containers each have their own dir).
PERSONAL_DATA_KEYS = [k for k in os.environ.get("PERSONAL_DATA_KEYS", "").split(",") if k]
PERSONAL_DATA_HASH_KEY = os.environ.get("PERSONAL_DATA_HASH_KEY", "")
DEBUG = _env_bool("DEBUG", False)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "*").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
PORT = int(os.environ.get("PORT", "8000"))
REDIS_URL = os.environ.get("REDIS_URL", "")
MQTT_URL = os.environ.get("MQTT_URL", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "campus_safety.orgs",
    "campus_safety.accounts",
    "campus_safety.workforce",
    "campus_safety.devices",
    "campus_safety.alarms",
    "campus_safety.hazards",
    "campus_safety.patrols",
    "campus_safety.reports",
    "campus_safety.audit",
    "campus_safety.live",
    "campus_safety.imports",
    "campus_safety.simulator",
    "campus_safety.video",
    "campus_safety.messaging",
    "campus_safety.gate",
    "campus_safety.intel",
    "campus_safety.inspections",
    "campus_safety.linkage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "campus_safety.security_headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "campus_safety.accounts.idle_timeout.IdleTimeoutMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "campus_safety.accounts.middleware.RequireTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "campus_safety.audit.middleware.AuditActorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "campus_safety.urls"
ASGI_APPLICATION = "campus_safety.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATA_DIR_DB = DATA_DIR / "campus_safety.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR_DB}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process read while the gateway writes; IMMEDIATE avoids
    # "database is locked" on upgrade from a read to a write transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Under ASGI every request may run on its own thread: persistent connections pile up
    # (one per thread, up to max_connections). A shared pool per process instead.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("DATABASE_POOL_SIZE", "20")),
        "timeout": 10,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "reports:home"  # each role's first page (accounts/landing.py)
LOGOUT_REDIRECT_URL = "login"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # login throttling must come first
    "django.contrib.auth.backends.ModelBackend",
]

# Login throttling (等保2.0; RULES.md §6): 5 failures lock the account and, separately,
# the source address for 15 minutes.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", "15"))
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = dt.timedelta(minutes=LOGIN_LOCK_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "campus_safety.accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "campus_safety.audit.actor.client_ip"
AXES_VERBOSE = False

# Second factor: every role but these must enrol a TOTP device (superusers always).
TWO_FACTOR_EXEMPT_ROLES = {"guard", "volunteer"}
OTP_TOTP_ISSUER = "校园安全联动平台"
# The admin never shows an enrolled device's secret or QR code (issue #14 item 1).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Idle timeout: the session lives this long after the last request (renewed at most once
# a minute by accounts/idle_timeout.py, not written on every request).
IDLE_TIMEOUT_MINUTES = int(os.environ.get("IDLE_TIMEOUT_MINUTES", "30"))
SESSION_COOKIE_AGE = IDLE_TIMEOUT_MINUTES * 60

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# A form label ends in Django's label_suffix, gettext(":"); Chinese takes the full-width
# colon, so our catalogue translates Django's msgid (marked here, or makemessages would
# drop it from the catalogue as unused).
_FORM_LABEL_SUFFIX = gettext_noop(":")
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it to exist
STATICFILES_DIRS = [
    PACKAGE_DIR / "static",  # the platform's own CSS and scripts
    ("vendor/leaflet", VENDOR_DIR / "leaflet" / "dist"),
    ("vendor/echarts", VENDOR_DIR / "echarts" / "dist"),
    ("vendor/htmx", VENDOR_DIR / "htmx.org" / "dist"),
]
# Serve straight from the finders: one process, no collectstatic step for the demo.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Behind TLS (TLS=1, normally at a reverse proxy passing X-Forwarded-Proto): HSTS and
# cookies that never travel in clear text.
TLS = _env_bool("TLS", False)
if TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "campus_safety.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "campus_safety.api_pagination.PageSizePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "campus_safety.api_errors.exception_handler",  # a 404 in words
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Campus Safety Linkage Platform API",
    "DESCRIPTION": "校园安全联动平台 REST API (v1)",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Write-only keys (region_code, school_id) and read-only nested objects differ, so
    # requests and responses get their own components.
    "COMPONENT_SPLIT_REQUEST": True,
    # Four models have a "kind"; name each enum after its model instead of a hash.
    "ENUM_NAME_OVERRIDES": {
        "SchoolKindEnum": "campus_safety.orgs.models.School.Kind",
        "OrganisationKindEnum": "campus_safety.orgs.models.Organisation.Kind",
        "GuardKindEnum": "campus_safety.workforce.models.Guard.Kind",
        "EquipmentKindEnum": "campus_safety.workforce.models.Equipment.Kind",
        "DeviceKindEnum": "campus_safety.devices.models.Device.Kind",
        "DeviceStatusEnum": "campus_safety.devices.models.Device.Status",
        "PatrolAlarmStateEnum": "campus_safety.patrols.models.PatrolAlarm.State",
        "AlarmCaseStateEnum": "campus_safety.alarms.models.AlarmCase.State",
        "HazardKindEnum": "campus_safety.hazards.models.Hazard.Kind",
        "HazardSourceEnum": "campus_safety.hazards.models.Hazard.Source",
        "HazardStatusEnum": "campus_safety.hazards.models.Hazard.Status",
        "ChecklistStatusEnum": "campus_safety.hazards.models.Checklist.Status",
    },
}

# --- The gate (gate/, issue #17); see docs/gate.md ---
# Visitors still inside at this local time are listed and alerted to the gate.
GATE_CLOSING_TIME = os.environ.get("GATE_CLOSING_TIME", "18:00")
# Release windows (local HH:MM-HH:MM, comma-separated); the late list follows each one's end.
GATE_RELEASE_WINDOWS = [
    tuple(window.split("-", 1))
    for window in os.environ.get("GATE_RELEASE_WINDOWS", "11:30-12:10,16:30-17:30").split(",")
    if "-" in window
]
# An unknown plate read this often within this many minutes (no exit between) in a peak
# window raises a loitering alarm for the school and its police (once per window).
GATE_LOITER_READS = int(os.environ.get("GATE_LOITER_READS", "3"))
GATE_LOITER_MINUTES = int(os.environ.get("GATE_LOITER_MINUTES", "10"))
GATE_PHOTO_MAX_BYTES = int(os.environ.get("GATE_PHOTO_MAX_BYTES", str(3 * 1024 * 1024)))
GATE_OVERSTAY_SWEEP_SECONDS = float(os.environ.get("GATE_OVERSTAY_SWEEP_SECONDS", "60"))
# The GB/T 28181 AlarmTypes (comma-separated, any case) a gate ANPR camera reports a
# plate read with (GB/T 28181 defines none): such an alarm is a passage, not a case.
GB28181_VEHICLE_ALARM_TYPES = [
    alarm_type.strip()
    for alarm_type in os.environ.get(
        "GB28181_VEHICLE_ALARM_TYPES", "vehicle,plate,anpr,车辆,车牌"
    ).split(",")
    if alarm_type.strip()
]
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "GateVehicleKindEnum": "campus_safety.gate.models.Vehicle.Kind",
        "GateVisitStateEnum": "campus_safety.gate.models.Visit.State",
        "GatePassageSourceEnum": "campus_safety.gate.models.VehiclePassage.Source",
        "GateHitSourceEnum": "campus_safety.gate.models.WatchlistHit.Source",
        "GatePickupReasonEnum": "campus_safety.gate.models.Pickup.Reason",
        "WatchlistReasonEnum": "campus_safety.gate.models.WatchlistEntry.Reason",
    }
)

# --- Domain settings (RULES.md: every unconfirmed value is a setting) ---
# Guard staffing rule: "gbt29315_2022" (by non-boarding students, default) or
# "spec_2015" (公治〔2015〕168号, by staff + students).
STAFFING_RULE = os.environ.get("STAFFING_RULE", "gbt29315_2022")
# "started": every started block of 500 above 1,000 adds a guard; "full": only full blocks.
STAFFING_BLOCK_ROUNDING = os.environ.get("STAFFING_BLOCK_ROUNDING", "started")
# Extra guards for boarders: one per this many boarders (0 = no national figure, none).
STAFFING_BOARDERS_PER_GUARD = int(os.environ.get("STAFFING_BOARDERS_PER_GUARD", "0"))

# Map: a tile URL template such as "https://tiles.example/{z}/{x}/{y}.png"; empty draws
# the schools on a plain background with the division outlines (works offline).
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")

# Audit log retention (网络安全法 Art. 21: at least 180 days; less is refused).
AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", "180"))
# Retention per kind of record (days); see retention.py for kinds and minimums.
DATA_RETENTION_DAYS = {
    "login_attempts": int(os.environ.get("RETENTION_LOGIN_ATTEMPTS_DAYS", "90")),
    "access_log": int(os.environ.get("RETENTION_ACCESS_LOG_DAYS", "180")),
    "expired_api_tokens": int(os.environ.get("RETENTION_EXPIRED_API_TOKENS_DAYS", "365")),
}
# Reverse proxies in front of the platform whose X-Forwarded-For we believe.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

API_TOKEN_DEFAULT_DAYS = int(os.environ.get("API_TOKEN_DEFAULT_DAYS", "90"))
# Uploads: the largest .xlsx accepted and the most rows in one import.
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(10 * 1024 * 1024)))
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "50000"))
# The most one part of an .xlsx (a sheet, the shared strings) may unpack to; a running
# import job not heard from for this many seconds is queued again (its worker died).
IMPORT_MAX_PART_BYTES = int(os.environ.get("IMPORT_MAX_PART_BYTES", str(128 * 1024 * 1024)))
IMPORT_JOB_STALE_SECONDS = int(os.environ.get("IMPORT_JOB_STALE_SECONDS", "120"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES

DEMO_MODE = _env_bool("CAMPUS_SAFETY_DEMO", False)
# Demo mode only: the clock starts at this local time ("07:00") or ISO date-time.
CLOCK_START = os.environ.get("CAMPUS_SAFETY_CLOCK_START", "")

# Uploaded files (hazard photos) live under the data dir and are served only through
# scoped views, never from a public media URL.
MEDIA_ROOT = Path(os.environ.get("CAMPUS_SAFETY_MEDIA_DIR", DATA_DIR / "media")).resolve()

# --- Hazards and trouble spots (hazards/; local practice, so every number is a setting) ---
# Days to fix by severity, e.g. HAZARD_DEADLINE_DAYS="low=30,medium=15,high=7,critical=3".
HAZARD_DEADLINE_DAYS = {
    "low": 30,
    "medium": 15,
    "high": 7,
    "critical": 3,
    **{
        key.strip(): int(days)
        for key, _, days in (
            item.partition("=") for item in os.environ.get("HAZARD_DEADLINE_DAYS", "").split(",")
        )
        if key.strip() in {"low", "medium", "high", "critical"} and days.strip().isdigit()
    },
}
# A reminder this many hours before the deadline; escalation to the supervisor at the
# deadline and to the supervisor's superior this many days later.
HAZARD_REMINDER_HOURS = float(os.environ.get("HAZARD_REMINDER_HOURS", "48"))
HAZARD_ESCALATION_REPEAT_DAYS = float(os.environ.get("HAZARD_ESCALATION_REPEAT_DAYS", "7"))
HAZARD_SWEEP_SECONDS = float(os.environ.get("HAZARD_SWEEP_SECONDS", "300"))
# Photos: largest file, most pixels (decompression bombs), most files per upload.
HAZARD_PHOTO_MAX_BYTES = int(os.environ.get("HAZARD_PHOTO_MAX_BYTES", str(8 * 1024 * 1024)))
HAZARD_PHOTO_MAX_PIXELS = int(os.environ.get("HAZARD_PHOTO_MAX_PIXELS", "40000000"))
HAZARD_PHOTOS_PER_UPLOAD = int(os.environ.get("HAZARD_PHOTOS_PER_UPLOAD", "6"))

# --- Online inspection (inspections/, issue #19); see docs/inspections.md ---
# The daily inspection of the day just ended runs at this local hour (or `campus-safety inspect`).
INSPECTIONS_DAILY_HOUR = int(os.environ.get("INSPECTIONS_DAILY_HOUR", "1"))
# The VQD snapshot sweep of every camera, every this many minutes (0 = off).
INSPECTIONS_VQD_SWEEP_MINUTES = float(os.environ.get("INSPECTIONS_VQD_SWEEP_MINUTES", "0"))
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "InspectionFindingKindEnum": "campus_safety.inspections.models.Finding.Kind",
        "InspectionNoticeSourceEnum": "campus_safety.inspections.models.Notice.Source",
        "VideoPatrolStatusEnum": "campus_safety.inspections.models.VideoPatrol.Status",
        "IncidentStatusEnum": "campus_safety.intel.models.Incident.Status",
    }
)

# --- Crackdown and early warning (intel/, issue #18); see docs/intel.md ---
# Incidents are linked to the schools within this distance.
INTEL_LINK_RADIUS_KM = float(os.environ.get("INTEL_LINK_RADIUS_KM", "1.0"))
# The daily space-time scan: circles up to this radius, windows ending today of 1..N days,
# a year of history, 999 Monte Carlo replications; an alert when the recurrence interval
# reaches INTEL_ALERT_RECURRENCE_DAYS. Kinds with fewer cases are only scanned together.
INTEL_SCAN_MAX_RADIUS_KM = float(os.environ.get("INTEL_SCAN_MAX_RADIUS_KM", "1.5"))
INTEL_SCAN_MAX_DAYS = int(os.environ.get("INTEL_SCAN_MAX_DAYS", "7"))
INTEL_SCAN_STUDY_DAYS = int(os.environ.get("INTEL_SCAN_STUDY_DAYS", "365"))
INTEL_SCAN_REPLICATIONS = int(os.environ.get("INTEL_SCAN_REPLICATIONS", "999"))
INTEL_SCAN_MIN_KIND_CASES = int(os.environ.get("INTEL_SCAN_MIN_KIND_CASES", "30"))
INTEL_ALERT_RECURRENCE_DAYS = float(os.environ.get("INTEL_ALERT_RECURRENCE_DAYS", "100"))
INTEL_SCAN_HOUR = int(os.environ.get("INTEL_SCAN_HOUR", "6"))  # local time, daily
INTEL_SCAN_CHECK_SECONDS = float(os.environ.get("INTEL_SCAN_CHECK_SECONDS", "900"))
# Groups: connected persons (co-involved suspects) over the period.
INTEL_GROUP_DAYS = int(os.environ.get("INTEL_GROUP_DAYS", "180"))
INTEL_GROUP_MIN_PERSONS = int(os.environ.get("INTEL_GROUP_MIN_PERSONS", "3"))
INTEL_GROUP_MIN_INCIDENTS = int(os.environ.get("INTEL_GROUP_MIN_INCIDENTS", "2"))
# The citizen tip form (no login): tips per address per hour (photos: HAZARD_PHOTO_* limits).
INTEL_TIPS_PER_HOUR = int(os.environ.get("INTEL_TIPS_PER_HOUR", "5"))
# OpenAPI enum names for the intel and linkage choices whose field names (kind, priority,
# level) clash; Region.Level and AlarmCase.Priority keep the names they had before.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "IncidentKindEnum": "campus_safety.intel.models.IncidentKind",
        "LeadPriorityEnum": "campus_safety.intel.models.Lead.Priority",
        "LinkageDutyLogKindEnum": "campus_safety.linkage.models.DutyLog.Kind",
        "LinkageEmergencyKindEnum": "campus_safety.linkage.models.EmergencyKind",
        "LinkageNoticeKindEnum": "campus_safety.linkage.models.Notice.Kind",
        "LinkageDisciplineLevelEnum": "campus_safety.linkage.models.DisciplineRecord.Level",
        "LevelEnum": "campus_safety.orgs.models.Region.Level",
        "PriorityEnum": "campus_safety.alarms.models.AlarmCase.Priority",
    }
)

# The console log (console_log.py): every line in TIME_ZONE with its offset, a refused
# request (4xx) on one line without its traceback, and uvicorn's access lines through
# the same handler. ACCESS_LOG: "pages" (default) logs every request but device
# messages (POST /api/v1/ingest) and health probes; "all" logs those too; "off" none.
ACCESS_LOG = os.environ.get("ACCESS_LOG", "pages").strip().lower()
if ACCESS_LOG not in {"pages", "all", "off"}:
    raise ValueError(f"ACCESS_LOG must be pages, all or off, not {ACCESS_LOG!r}")
ACCESS_LOG_QUIET_PATHS = ("/api/v1/ingest", "/healthz") if ACCESS_LOG == "pages" else ()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "campus_safety.console_log.LocalTimeFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
            "time_zone": TIME_ZONE,
        }
    },
    "filters": {
        "one_line_refusals": {"()": "campus_safety.console_log.OneLineRefusals"},
        "quiet_paths": {
            "()": "campus_safety.console_log.QuietPaths",
            "paths": ACCESS_LOG_QUIET_PATHS,
        },
        "plain_uvicorn_name": {"()": "campus_safety.console_log.PlainUvicornName"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["one_line_refusals"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "uvicorn.access": {"filters": ["quiet_paths"]},
        "uvicorn.error": {"filters": ["plain_uvicorn_name"]},
    },
}

# --- Device liveness and ingestion ---
# Offline = no keepalive for a device's interval × count (GB/T 28181: 60 s × 3), or its
# registration expired. The sweeper runs this often (detection within 2 s needs ≤ 1 s).
LIVENESS_SWEEP_SECONDS = float(os.environ.get("LIVENESS_SWEEP_SECONDS", "1"))
# Last-seen times are flushed to Device.last_seen_at in batches this often.
LIVENESS_FLUSH_SECONDS = float(os.environ.get("LIVENESS_FLUSH_SECONDS", "30"))
# After a platform restart nothing goes offline for this long (empty: each device's own
# interval × count), so devices get a chance to check in instead of an offline storm.
LIVENESS_RESTART_GRACE_SECONDS = (
    float(os.environ["LIVENESS_RESTART_GRACE_SECONDS"])
    if os.environ.get("LIVENESS_RESTART_GRACE_SECONDS")
    else None
)
# Flapping: this many online/offline changes within the window → one device.flapping
# event; quiet again after this long without a change.
LIVENESS_FLAP_CHANGES = int(os.environ.get("LIVENESS_FLAP_CHANGES", "5"))
LIVENESS_FLAP_WINDOW_SECONDS = float(os.environ.get("LIVENESS_FLAP_WINDOW_SECONDS", "600"))
LIVENESS_FLAP_STABLE_SECONDS = float(os.environ.get("LIVENESS_FLAP_STABLE_SECONDS", "900"))
# Offline longer than this → a fault to repair (status "fault", device.fault).
LIVENESS_FAULT_AFTER_HOURS = float(os.environ.get("LIVENESS_FAULT_AFTER_HOURS", "24"))
# The in-memory directory of approved devices is reloaded this often (and at once in
# this process on every change; with Redis, other processes hear of changes too).
LIVENESS_DIRECTORY_REFRESH_SECONDS = float(
    os.environ.get("LIVENESS_DIRECTORY_REFRESH_SECONDS", "30")
)
LIVENESS_REDIS_PREFIX = os.environ.get("LIVENESS_REDIS_PREFIX", "campus-safety:liveness")
# Size limits: one JSON event (MQTT message or HTTP batch item), one HTTP batch.
INGEST_MAX_EVENT_BYTES = int(os.environ.get("INGEST_MAX_EVENT_BYTES", str(16 * 1024)))
INGEST_HTTP_MAX_BYTES = int(os.environ.get("INGEST_HTTP_MAX_BYTES", str(256 * 1024)))
INGEST_HTTP_MAX_EVENTS = int(os.environ.get("INGEST_HTTP_MAX_EVENTS", "500"))
# How long an HTTP ingest request waits for its batch to commit before answering 503.
INGEST_HTTP_COMMIT_TIMEOUT = float(os.environ.get("INGEST_HTTP_COMMIT_TIMEOUT", "20"))
# How often (seconds) ``serve`` copies SQLite's write-ahead log into the database file
# in a thread of its own (sqlite_checkpoints.py), so commits never have to.
SQLITE_CHECKPOINT_SECONDS = float(os.environ.get("SQLITE_CHECKPOINT_SECONDS", "1"))
# How often (seconds) Python lets another thread take the GIL under ``serve`` (Python's
# default is 0.005). The ingestion writer gives the GIL up on every database round trip
# and then waited up to 5 ms each time for the SIP loop to yield it: at 0.0005 the PostgreSQL
# p99 alarm latency at 100/s fell from 166 to 85 ms (bench/alarm_latency.py, README).
SERVE_SWITCH_INTERVAL = float(os.environ.get("SERVE_SWITCH_INTERVAL", "0.0005"))
# "uvloop" (default) or "asyncio": the event loop ``serve`` runs on (runtime.loop_factory).
SERVE_EVENT_LOOP = os.environ.get("SERVE_EVENT_LOOP", "uvloop")
INGEST_HTTP_REPLAY_WINDOW_SECONDS = int(os.environ.get("INGEST_HTTP_REPLAY_WINDOW_SECONDS", "300"))
# MQTT (MQTT_URL above, e.g. mqtt://user:pass@127.0.0.1:1883; mqtts:// for TLS). The client
# ID must stay the same across restarts: the broker keeps its session (QoS 1 messages
# published while we were down) under that name.
MQTT_CLIENT_ID = os.environ.get("MQTT_CLIENT_ID", f"campus-safety-{os.uname().nodename}")
# Shared subscription ($share/<group>/…) so several gateway processes split the load;
# switch off for brokers without it.
MQTT_SHARED_SUBSCRIPTION = _env_bool("MQTT_SHARED_SUBSCRIPTION", True)
MQTT_SHARE_GROUP = os.environ.get("MQTT_SHARE_GROUP", "campus-safety")
# Where devices publish: <root>/<device_id>/<kind> (ARCHITECTURE.md §5: campus/v1). A
# broker shared by several platforms (or test runs) gives each a root of its own.
MQTT_TOPIC_ROOT = os.environ.get("MQTT_TOPIC_ROOT", "campus/v1")
MQTT_KEEPALIVE_SECONDS = int(os.environ.get("MQTT_KEEPALIVE_SECONDS", "30"))
MQTT_RECONNECT_MAX_SECONDS = int(os.environ.get("MQTT_RECONNECT_MAX_SECONDS", "30"))
# A consumer killed with a shared subscription leaves its persistent session collecting
# its share of the messages until it is back; the live consumer with the lowest client ID
# drains it meanwhile (gateway/mqtt_adoption.py), told by presence announcements on
# <MQTT_PRESENCE_TOPIC>/<client ID> (default campus-safety/consumers/<share group>).
MQTT_SESSION_ADOPTION = _env_bool("MQTT_SESSION_ADOPTION", True)
MQTT_PRESENCE_TOPIC = os.environ.get("MQTT_PRESENCE_TOPIC", "")
# The gateway package hosts the `campus-safety mqtt` command (no models).
INSTALLED_APPS += ["campus_safety.gateway"]

# --- Cluster (cluster/, issue #22): process roles, periodic jobs once cluster-wide ---
INSTALLED_APPS += ["campus_safety.cluster"]
# "auto": periodic jobs lead and claim through PostgreSQL when the database is
# PostgreSQL (several `serve --role jobs` processes); "off" runs them unconditionally.
PERIODIC_CLUSTER = os.environ.get("PERIODIC_CLUSTER", "auto")
# How long a process's entry in Redis outlives its last beat (cluster/members.py).
CLUSTER_MEMBER_TTL_SECONDS = float(os.environ.get("CLUSTER_MEMBER_TTL_SECONDS", "10"))
# This process's HTTP base URL as the other processes reach it (published in its member
# row; a web process proxies /video/ calls to the SIP process holding the camera).
# Default: http://<bound address, or the host's own address when bound to all>:<port>.
CLUSTER_HTTP_URL = os.environ.get("CLUSTER_HTTP_URL", "")

# --- GB/T 28181 gateway ---
# SIP over UDP and TCP on one port. Platform ID (20 digits, type 200 = SIP server) and
# SIP domain (the first 10 digits) are what devices are configured with; the password is
# the platform-wide device password (a device's own password overrides it).
GB28181_ENABLED = _env_bool("GB28181_ENABLED", False)
GB28181_HOST = os.environ.get("GB28181_HOST", "0.0.0.0")  # noqa: S104 - devices reach us
GB28181_PORT = int(os.environ.get("GB28181_PORT", "5060"))
# Several gateway processes of one host share the port (SO_REUSEPORT): devices keep one
# address and the moment a gateway dies the others take its datagrams (docs/deployment.md).
GB28181_REUSE_PORT = _env_bool("GB28181_REUSE_PORT", False)
GB28181_PLATFORM_ID = os.environ.get("GB28181_PLATFORM_ID", "37140000002000000001")
GB28181_DOMAIN = os.environ.get("GB28181_DOMAIN", "3714000000")
GB28181_PASSWORD = os.environ.get("GB28181_PASSWORD", "12345678")
# Unknown devices: False → 404; True → a pending Device (is_approved=False) and 403
# until an administrator approves it.
GB28181_AUTO_REGISTER = _env_bool("GB28181_AUTO_REGISTER", False)
# Our address in Via when bound to 0.0.0.0 behind NAT (empty: worked out per device).
GB28181_ADVERTISED_HOST = os.environ.get("GB28181_ADVERTISED_HOST", "")
# Registration expiry granted (GB/T 28181-2022: default 86,400 s, minimum 3,600 s).
GB28181_REGISTER_MIN_EXPIRES = int(os.environ.get("GB28181_REGISTER_MIN_EXPIRES", "3600"))
GB28181_REGISTER_MAX_EXPIRES = int(os.environ.get("GB28181_REGISTER_MAX_EXPIRES", "86400"))
# Largest SIP message accepted; messages per second (and burst) per source address
# (0 = no limit, e.g. for a benchmark whose devices all share one address).
GB28181_MAX_MESSAGE_BYTES = int(os.environ.get("GB28181_MAX_MESSAGE_BYTES", str(64 * 1024)))
GB28181_RATE_LIMIT = float(os.environ.get("GB28181_RATE_LIMIT", "200"))
GB28181_RATE_BURST = float(os.environ.get("GB28181_RATE_BURST", "400"))
# Waiting for devices: the whole catalog, and a DeviceStatus/DeviceInfo answer.
GB28181_CATALOG_TIMEOUT = float(os.environ.get("GB28181_CATALOG_TIMEOUT", "30"))
GB28181_QUERY_TIMEOUT = float(os.environ.get("GB28181_QUERY_TIMEOUT", "10"))
# SIP over TCP (docs/devices.md "Connection limits"): connections in all (never more than
# half of the descriptors left after 256 kept for the rest, campus_safety/fd_limits.py)
# and from one address (devices behind one NAT share it); seconds a new connection has to
# register a device before it is closed, and a registered one may stay idle.
GB28181_TCP_MAX_CONNECTIONS = int(os.environ.get("GB28181_TCP_MAX_CONNECTIONS", "20000"))
GB28181_TCP_MAX_CONNECTIONS_PER_HOST = int(
    os.environ.get("GB28181_TCP_MAX_CONNECTIONS_PER_HOST", "64")
)
GB28181_TCP_REGISTER_TIMEOUT = float(os.environ.get("GB28181_TCP_REGISTER_TIMEOUT", "10"))
GB28181_TCP_IDLE_TIMEOUT = float(os.environ.get("GB28181_TCP_IDLE_TIMEOUT", "600"))

# --- Live video (video/, issue #16): streams, limits, tokens; see docs/video.md ---
# Where devices send RTP: the address put in the INVITE's SDP, and the address bound.
VIDEO_MEDIA_HOST = os.environ.get("VIDEO_MEDIA_HOST", "127.0.0.1")
VIDEO_MEDIA_BIND = os.environ.get("VIDEO_MEDIA_BIND", "0.0.0.0")  # noqa: S104 - devices reach us
# "udp", "tcp_passive" (the device connects to us) or "tcp_active" (we connect to it).
VIDEO_RTP_TRANSPORT = os.environ.get("VIDEO_RTP_TRANSPORT", "udp")
VIDEO_MAX_STREAMS = int(os.environ.get("VIDEO_MAX_STREAMS", "64"))  # device streams in all
VIDEO_MAX_STREAMS_PER_DEVICE = int(os.environ.get("VIDEO_MAX_STREAMS_PER_DEVICE", "4"))
VIDEO_MAX_VIEWERS_PER_STREAM = int(os.environ.get("VIDEO_MAX_VIEWERS_PER_STREAM", "32"))
VIDEO_IDLE_STOP_SECONDS = float(os.environ.get("VIDEO_IDLE_STOP_SECONDS", "30"))
VIDEO_NO_MEDIA_SECONDS = float(os.environ.get("VIDEO_NO_MEDIA_SECONDS", "4"))
# a stream whose media came without a key frame this long asks the device for one
VIDEO_KEY_FRAME_ASK_SECONDS = float(os.environ.get("VIDEO_KEY_FRAME_ASK_SECONDS", "0.5"))
VIDEO_TOKEN_SECONDS = int(os.environ.get("VIDEO_TOKEN_SECONDS", "60"))
VIDEO_TOUR_SECONDS = int(os.environ.get("VIDEO_TOUR_SECONDS", "20"))  # 轮巡 interval
VIDEO_LINKED_CAMERAS = int(os.environ.get("VIDEO_LINKED_CAMERAS", "2"))  # nearest, by default
# 录像下载 (docs/video.md): the longest clip, its largest MP4, the speed asked of the
# device (a=downloadspeed), where the files wait and for how long
VIDEO_DOWNLOAD_MAX_SECONDS = int(os.environ.get("VIDEO_DOWNLOAD_MAX_SECONDS", "600"))
VIDEO_DOWNLOAD_MAX_MB = float(os.environ.get("VIDEO_DOWNLOAD_MAX_MB", "512"))
VIDEO_DOWNLOAD_SPEED = int(os.environ.get("VIDEO_DOWNLOAD_SPEED", "4"))
VIDEO_DOWNLOAD_DIR = os.environ.get("VIDEO_DOWNLOAD_DIR", "")  # default: the temp directory
VIDEO_DOWNLOAD_KEEP_SECONDS = int(os.environ.get("VIDEO_DOWNLOAD_KEEP_SECONDS", "900"))
# The browser's MPEG-TS player (npm mpegts.js), served like ECharts and Leaflet.
STATICFILES_DIRS += [("vendor/mpegts", VENDOR_DIR / "mpegts.js" / "dist")]

# --- Device simulator (`campus-safety simulate`, demo and benches) ---
# Where the simulator serves camera snapshots: the demo city's cameras point here
# (<url><device_id>.jpg), and `simulate` listens on this URL's port.
SIMULATOR_SNAPSHOT_URL = os.environ.get(
    "SIMULATOR_SNAPSHOT_URL", "http://127.0.0.1:8011/snapshots/"
)

# --- Live stream (/live/stream, docs/events.md "Live stream") ---
LIVE_HEARTBEAT_SECONDS = float(os.environ.get("LIVE_HEARTBEAT_SECONDS", "15"))
# A stream ends after this long; the browser reconnects (scope and session re-read).
LIVE_STREAM_MAX_SECONDS = float(os.environ.get("LIVE_STREAM_MAX_SECONDS", "300"))
LIVE_RETRY_MS = int(os.environ.get("LIVE_RETRY_MS", "2000"))
# Replay on reconnect: at most this many events, none older than this.
LIVE_REPLAY_MAX = int(os.environ.get("LIVE_REPLAY_MAX", "500"))
LIVE_REPLAY_MINUTES = int(os.environ.get("LIVE_REPLAY_MINUTES", "60"))

# --- Alarm handling (RULES.md §4; local practice, so every number is a setting) ---
# Events from the same school within this many seconds join the open case.
ALARM_MERGE_SECONDS = int(os.environ.get("ALARM_MERGE_SECONDS", "120"))
# Not acknowledged within this many seconds → escalate to the next level (repeats).
ALARM_ACK_SECONDS = int(os.environ.get("ALARM_ACK_SECONDS", "30"))
# Response circle (minutes from dispatch to arrival) by default and per district code,
# e.g. ALARM_RESPONSE_CIRCLES="371402=3,371403=3".
ALARM_RESPONSE_MINUTES = int(os.environ.get("ALARM_RESPONSE_MINUTES", "5"))
ALARM_RESPONSE_CIRCLES = {
    code.strip(): int(minutes)
    for code, _, minutes in (
        item.partition("=") for item in os.environ.get("ALARM_RESPONSE_CIRCLES", "").split(",")
    )
    if code.strip() and minutes.strip().isdigit()
}

# --- Patrols (patrols/): guard tours and 护学岗 gate posts (RULES.md §1, §3, §4) ---
# GB/T 29315-2022: key areas patrolled at least this many times a day.
PATROL_MIN_ROUNDS_PER_DAY = int(os.environ.get("PATROL_MIN_ROUNDS_PER_DAY", "5"))
# A scan this many minutes before a round starts still counts for it.
PATROL_EARLY_MINUTES = int(os.environ.get("PATROL_EARLY_MINUTES", "10"))
# A patrol alarm nobody at the school acknowledged goes to the police station after this.
PATROL_ALARM_ESCALATE_MINUTES = int(os.environ.get("PATROL_ALARM_ESCALATE_MINUTES", "15"))
# How often the runtime evaluates open rounds and raises missed-checkpoint alarms.
PATROL_SWEEP_SECONDS = int(os.environ.get("PATROL_SWEEP_SECONDS", "30"))
# 护学岗 windows for schools without their own timetable [U]: on post from LEAD minutes
# before classes start / dismissal until TAIL minutes after.
POST_CLASS_STARTS_AT = os.environ.get("POST_CLASS_STARTS_AT", "08:00")
POST_DISMISSAL_AT = os.environ.get("POST_DISMISSAL_AT", "16:30")
POST_ARRIVAL_LEAD_MINUTES = int(os.environ.get("POST_ARRIVAL_LEAD_MINUTES", "30"))
POST_ARRIVAL_TAIL_MINUTES = int(os.environ.get("POST_ARRIVAL_TAIL_MINUTES", "15"))
POST_DISMISSAL_LEAD_MINUTES = int(os.environ.get("POST_DISMISSAL_LEAD_MINUTES", "20"))
POST_DISMISSAL_TAIL_MINUTES = int(os.environ.get("POST_DISMISSAL_TAIL_MINUTES", "30"))
# A phone location less precise than this (metres) cannot prove presence at a post.
POST_MAX_ACCURACY_M = int(os.environ.get("POST_MAX_ACCURACY_M", "100"))
# Checking out is allowed until this many minutes after the window closes.
POST_CHECKOUT_GRACE_MINUTES = int(os.environ.get("POST_CHECKOUT_GRACE_MINUTES", "15"))

# --- SMS (messaging/): refused pick-ups, pick-up codes, guardian links; docs/deployment.md ---
# "log" (the demo: written to the log, phone masked) or "http" (the operator's SMS gateway:
# a signed JSON POST to SMS_HTTP_URL, HMAC-SHA256 with SMS_HTTP_SECRET).
SMS_BACKEND = os.environ.get("SMS_BACKEND", "log")
SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL", "")
SMS_HTTP_SECRET = os.environ.get("SMS_HTTP_SECRET", "")
SMS_HTTP_TIMEOUT = float(os.environ.get("SMS_HTTP_TIMEOUT", "5"))
# Tries per message (5xx, timeouts), the first retry's delay in seconds (doubling, ≤ 1 h),
# how often the sender runs, and when a message left "sending" by a dead process is retried.
SMS_MAX_ATTEMPTS = int(os.environ.get("SMS_MAX_ATTEMPTS", "5"))
SMS_RETRY_SECONDS = float(os.environ.get("SMS_RETRY_SECONDS", "30"))
SMS_SEND_SECONDS = float(os.environ.get("SMS_SEND_SECONDS", "10"))
SMS_SENDING_STALE_SECONDS = float(os.environ.get("SMS_SENDING_STALE_SECONDS", "300"))
SMS_RETENTION_DAYS = int(os.environ.get("SMS_RETENTION_DAYS", "180"))
# The carrier-registered signature put in front of every text as 【…】 ("" for none).
SMS_SIGNATURE = os.environ.get("SMS_SIGNATURE", "校园安全")
# The platform's address as guardians reach it: the links sent by SMS start with it.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")

# --- Police-school linkage (linkage/, issue #20); numbers and sources in docs/linkage.md ---
# 训诫教育 records are sealed this many days after they were recorded (the follow-up period).
LINKAGE_DISCIPLINE_SEAL_DAYS = int(os.environ.get("LINKAGE_DISCIPLINE_SEAL_DAYS", "365"))
# An approved unseal request opens the sealed record to its requester for this long.
LINKAGE_UNSEAL_HOURS = float(os.environ.get("LINKAGE_UNSEAL_HOURS", "24"))
# Evacuation drill period per school kind ("month", "quarter", "term"), e.g.
# LINKAGE_DRILL_PERIODS="kindergarten=quarter,vocational=term"; unnamed kinds keep the default.
LINKAGE_DRILL_PERIODS = {
    kind: period
    for kind, _, period in (
        item.partition("=") for item in os.environ.get("LINKAGE_DRILL_PERIODS", "").split(",")
    )
    if kind and period
}
# Schools that have not confirmed a notice, and units that have not forwarded it, are
# reminded this many hours before its deadline.
LINKAGE_NOTICE_REMINDER_HOURS = float(os.environ.get("LINKAGE_NOTICE_REMINDER_HOURS", "24"))
LINKAGE_SWEEP_SECONDS = float(os.environ.get("LINKAGE_SWEEP_SECONDS", "600"))

# --- Reports (reports/, issue #21): big screen, 4×100% board, scheduled reports ---
# Scheduled reports: how often serve looks for due ones, how late a missed one is still
# made, the school terms ((start month, day), (end month, day)); the PDF's CJK font.
REPORTS_SCHEDULE_SECONDS = float(os.environ.get("REPORTS_SCHEDULE_SECONDS", "600"))
REPORTS_CATCH_UP_DAYS = int(os.environ.get("REPORTS_CATCH_UP_DAYS", "7"))
REPORTS_TERMS = [((9, 1), (1, 31)), ((2, 15), (7, 15))]
REPORTS_PDF_FONT = os.environ.get(
    "REPORTS_PDF_FONT", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
)
# 4×100%: the standard kit per counted guard; the cameras' online share for 联网率.
REPORTS_STANDARD_KIT = {"baton": 1, "stab_vest": 1}
REPORTS_VIDEO_ONLINE_MIN = float(os.environ.get("REPORTS_VIDEO_ONLINE_MIN", "0.95"))
# Big screen: poll (s) besides the live stream, "stale" after (s), KPI refetch (s).
REPORTS_SCREEN_POLL_SECONDS = int(os.environ.get("REPORTS_SCREEN_POLL_SECONDS", "30"))
REPORTS_SCREEN_STALE_SECONDS = int(os.environ.get("REPORTS_SCREEN_STALE_SECONDS", "90"))
REPORTS_SCREEN_KPI_SECONDS = int(os.environ.get("REPORTS_SCREEN_KPI_SECONDS", "300"))
