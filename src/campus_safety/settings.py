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
    "campus_safety.reports",
    "campus_safety.audit",
    "campus_safety.simulator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "campus_safety.security_headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "reports:overview"
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

# Idle timeout: the session cookie lives this long after the last request.
IDLE_TIMEOUT_MINUTES = int(os.environ.get("IDLE_TIMEOUT_MINUTES", "30"))
SESSION_COOKIE_AGE = IDLE_TIMEOUT_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True

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
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it to exist
STATICFILES_DIRS = [
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
    },
}

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
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES

DEMO_MODE = _env_bool("CAMPUS_SAFETY_DEMO", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
