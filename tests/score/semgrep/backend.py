# Test cases for harness/score/security/rules/backend.yml, in semgrep's own test format: run
# `semgrep scan --test --config <rules dir> <this dir>` (tests/score/test_semgrep_rules.py does).
# A "ruleid" comment names the rules that must report the line below it, an "ok" comment the rules
# that must not. This is test data, never imported or run: not a pytest module (no `test_` prefix)
# and excluded from ruff.
import base64
import hashlib
import json
import os
import pickle
import subprocess
from os import getenv

import jwt
import yaml
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings
from sqlalchemy import text

app = FastAPI()
ALGORITHMS = ["HS256"]


# --- crucible.jwt-decode-unverified -------------------------------------------------------------


def signature_off_inline(token, key):
    # ruleid: crucible.jwt-decode-unverified
    return jwt.decode(token, key, algorithms=["HS256"], options={"verify_signature": False})


def signature_off_through_a_variable(token, key):
    unchecked = {"verify_signature": False, "verify_exp": True}
    # ruleid: crucible.jwt-decode-unverified
    return jwt.decode(token, key, algorithms=ALGORITHMS, options=unchecked)


def signature_off_with_dict_call(token, key):
    # ruleid: crucible.jwt-decode-unverified
    return jwt.decode(token, key, algorithms=ALGORITHMS, options=dict(verify_signature=False))


def signature_off_by_item(token, key):
    settings = {}
    settings["verify_signature"] = False
    # ruleid: crucible.jwt-decode-unverified
    return jwt.decode_complete(token, key, algorithms=ALGORITHMS, options=settings)


def signature_off_in_pyjwt_1(token, key):
    # ruleid: crucible.jwt-decode-unverified
    return jwt.decode(token, key, verify=False)


def claims_read_without_verifying(token):
    # ruleid: crucible.jwt-decode-unverified
    return jwt.get_unverified_claims(token)


def signature_checked(token, key):
    # ok: crucible.jwt-decode-unverified
    return jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp"]})


def signature_checked_through_a_variable(token, key):
    checked = {"verify_signature": True}
    # ok: crucible.jwt-decode-unverified
    return jwt.decode(token, key, algorithms=ALGORITHMS, options=checked)


def header_read_without_verifying_is_not_claims(token):
    # ok: crucible.jwt-decode-unverified
    return jwt.get_unverified_header(token)["kid"]


# --- crucible.jwt-expiry-unchecked --------------------------------------------------------------


def expiry_off_inline(token, key):
    # ruleid: crucible.jwt-expiry-unchecked
    return jwt.decode(token, key, algorithms=ALGORITHMS, options={"verify_exp": False})


def expiry_off_through_a_variable(token, key):
    lenient = {"verify_exp": False}
    # ruleid: crucible.jwt-expiry-unchecked
    return jwt.decode(token, key, algorithms=ALGORITHMS, options=lenient)


def not_before_off_with_dict_call(token, key):
    # ruleid: crucible.jwt-expiry-unchecked
    return jwt.decode(token, key, algorithms=ALGORITHMS, options=dict(verify_nbf=False))


def issued_at_off(token, key):
    # ruleid: crucible.jwt-expiry-unchecked
    return jwt.decode(token, key, algorithms=ALGORITHMS, options={"verify_iat": False, "require": ["exp"]})


def expiry_off_with_python_jose(token, key):
    from jose import jwt

    # ruleid: crucible.jwt-expiry-unchecked
    return jwt.decode(token, key, algorithms=["HS256"], options={"verify_exp": False})


def expiry_checked(token, key):
    # ok: crucible.jwt-expiry-unchecked
    return jwt.decode(token, key, algorithms=ALGORITHMS, options={"verify_exp": True, "require": ["exp"]})


def expiry_checked_through_a_variable(token, key):
    strict = {"require": ["exp", "iat"]}
    # ok: crucible.jwt-expiry-unchecked
    return jwt.decode(token, key, algorithms=ALGORITHMS, options=strict)


# --- crucible.jwt-audience-unchecked ------------------------------------------------------------


def audience_off(token, key):
    # ruleid: crucible.jwt-audience-unchecked
    return jwt.decode(token, key, algorithms=ALGORITHMS, options={"verify_aud": False})


def issuer_off_through_a_variable(token, key):
    relaxed = dict(verify_iss=False)
    # ruleid: crucible.jwt-audience-unchecked
    return jwt.decode(token, key, algorithms=ALGORITHMS, options=relaxed)


def audience_checked(token, key):
    # ok: crucible.jwt-audience-unchecked
    return jwt.decode(token, key, algorithms=ALGORITHMS, audience="orders-api")


# --- crucible.jwt-algorithm-from-token ----------------------------------------------------------


def algorithm_from_the_header(token, key):
    header = jwt.get_unverified_header(token)
    # ruleid: crucible.jwt-algorithm-from-token
    return jwt.decode(token, key, algorithms=header["alg"])


def algorithm_from_the_header_inline(token, key):
    # ruleid: crucible.jwt-algorithm-from-token
    return jwt.decode(token, key, algorithms=[jwt.get_unverified_header(token)["alg"]])


def algorithm_decoded_by_hand(token, key):
    head = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    alg = head.get("alg", "HS256")
    # ruleid: crucible.jwt-algorithm-from-token
    return jwt.decode(token, key, algorithms=[alg])


def algorithm_from_the_request(request, token, key):
    # ruleid: crucible.jwt-algorithm-from-token
    return jwt.decode(token, key, algorithms=[request.headers.get("X-Token-Alg", "HS256")])


def algorithm_from_the_server_state(request, token, key):
    # ok: crucible.jwt-algorithm-from-token
    return jwt.decode(token, key, algorithms=request.app.state.jwt_algorithms)


def algorithm_pinned(token, key):
    # ok: crucible.jwt-algorithm-from-token
    return jwt.decode(token, key, algorithms=["HS256"])


def algorithm_pinned_by_a_constant(token, key):
    kid = jwt.get_unverified_header(token)["kid"]
    # ok: crucible.jwt-algorithm-from-token
    return jwt.decode(token, KEYS[kid], algorithms=ALGORITHMS)


def algorithm_checked_against_an_allow_list(token, key):
    alg = jwt.get_unverified_header(token)["alg"]
    if alg not in ALGORITHMS:
        raise jwt.InvalidAlgorithmError(alg)
    # ok: crucible.jwt-algorithm-from-token
    return jwt.decode(token, key, algorithms=[alg])


def algorithms_missing(token, key):
    # PyJWT 2 refuses this call (DecodeError: algorithms is required), so it fails closed.
    # ok: crucible.jwt-algorithm-from-token
    return jwt.decode(token, key)


# --- crucible.jwt-alg-none-accepted -------------------------------------------------------------


def none_accepted(token, key):
    # ruleid: crucible.jwt-alg-none-accepted
    return jwt.decode(token, key, algorithms=["HS256", "none"])


def none_accepted_through_a_variable(token, key):
    accepted = ["HS256", "None"]
    # ruleid: crucible.jwt-alg-none-accepted
    return jwt.decode(token, key, algorithms=accepted)


def none_refused(token, key):
    # ok: crucible.jwt-alg-none-accepted
    return jwt.decode(token, key, algorithms=["HS256"])


# --- crucible.hardcoded-jwt-secret --------------------------------------------------------------


def token_signed_with_a_literal(claims):
    # ruleid: crucible.hardcoded-jwt-secret
    return jwt.encode(claims, "super-secret-value", algorithm="HS256")


def token_checked_with_a_literal(token):
    # ruleid: crucible.hardcoded-jwt-secret
    return jwt.decode(token, "super-secret-value", algorithms=ALGORITHMS)


# ruleid: crucible.hardcoded-jwt-secret
JWT_SECRET = "change-me-later"


def token_signed_with_the_environment(claims):
    # ok: crucible.hardcoded-jwt-secret
    return jwt.encode(claims, os.environ["JWT_SECRET"], algorithm="HS256")


# ok: crucible.hardcoded-jwt-secret
SECRET_KEY = os.environ["SECRET_KEY"]
# ok: crucible.hardcoded-jwt-secret
SIGNING_KEY = ""


# --- crucible.secret-with-fallback --------------------------------------------------------------

# ruleid: crucible.secret-with-fallback
jwt_secret = os.getenv("JWT_SECRET", "dev-secret")
# ruleid: crucible.secret-with-fallback
flask_key = os.environ.get("SECRET_KEY", "x")
# ruleid: crucible.secret-with-fallback
api_key = getenv("PAYMENTS_API_KEY", default="sk-test-123")
# ruleid: crucible.secret-with-fallback
signing = os.getenv("TOKEN_SIGNING_KEY") or "fallback"
# ruleid: crucible.secret-with-fallback
db_password = os.environ.get("DB_PASSWORD") or "postgres"
# ruleid: crucible.secret-with-fallback
os.environ.setdefault("ADMIN_PASSWD", "admin")
DEV_DEFAULT = "not-so-secret"
# ruleid: crucible.secret-with-fallback
client_secret = os.getenv("OAUTH_CLIENT_SECRET", DEV_DEFAULT)


class Settings(BaseSettings):
    # ruleid: crucible.hardcoded-jwt-secret, crucible.secret-with-fallback
    jwt_secret: str = "change-me"
    # ruleid: crucible.secret-with-fallback
    api_key: SecretStr = SecretStr("local-key")
    # ruleid: crucible.secret-with-fallback
    smtp_password: str = Field(default="mailpass", description="SMTP login")
    # ok: crucible.secret-with-fallback
    database_url: str = "postgresql://localhost/app"
    # ok: crucible.secret-with-fallback
    jwt_secret_min_length: int = 32
    # ok: crucible.secret-with-fallback
    signing_key: str
    # ok: crucible.secret-with-fallback
    log_level: str = "info"


class ResponseModel:
    # a default on a class that is not read from the environment is not a fallback
    # ok: crucible.secret-with-fallback
    api_key_header: str = "X-API-Key"


# ok: crucible.secret-with-fallback
required_secret = os.environ["JWT_SECRET"]
# ok: crucible.secret-with-fallback
no_fallback = os.getenv("JWT_SECRET")
# ok: crucible.secret-with-fallback
empty_fallback = os.environ.get("JWT_SECRET", "")
# ok: crucible.secret-with-fallback
none_fallback = os.getenv("JWT_SECRET", None)
# ok: crucible.secret-with-fallback
or_none = os.environ.get("ADMIN_PASSWORD") or None
# ok: crucible.secret-with-fallback
log_level = os.getenv("LOG_LEVEL", "info")
# ok: crucible.secret-with-fallback
algorithm = os.getenv("JWT_ALGORITHM", "HS256")
# ok: crucible.secret-with-fallback
secret_file = os.getenv("JWT_SECRET_FILE", "/run/secrets/jwt")
# ok: crucible.secret-with-fallback
min_length = os.getenv("PASSWORD_MIN_LENGTH", "8")
# ok: crucible.secret-with-fallback
key_prefix = os.environ.get("API_KEY_PREFIX", "om_")
# ok: crucible.secret-with-fallback
hasher = os.getenv("PASSWORD_HASHER", "argon2")


# --- crucible.sql-built-from-strings ------------------------------------------------------------


def find_by_email(conn, session, email, ident):
    # ruleid: crucible.sql-built-from-strings
    conn.execute(f"SELECT * FROM users WHERE email = '{email}'")
    # ruleid: crucible.sql-built-from-strings
    conn.execute("SELECT * FROM users WHERE email = '%s'" % email)
    # ruleid: crucible.sql-built-from-strings
    session.execute(text("DELETE FROM t WHERE id = " + ident))
    # ok: crucible.sql-built-from-strings
    conn.execute("SELECT * FROM users WHERE email = %s", (email,))
    # ok: crucible.sql-built-from-strings
    session.execute(text("DELETE FROM t WHERE id = :id"), {"id": ident})


# --- crucible.weak-password-hash ----------------------------------------------------------------


def store_password(user, password):
    # ruleid: crucible.weak-password-hash
    user.password_hash = hashlib.sha256(password.encode()).hexdigest()
    # ok: crucible.weak-password-hash
    prehash = base64.b64encode(hashlib.sha256(password.encode()).digest())
    # ok: crucible.weak-password-hash
    etag = hashlib.sha256(user.email.encode()).hexdigest()
    return prehash, etag


# --- crucible.debug-mode ------------------------------------------------------------------------

# ruleid: crucible.debug-mode
app.run(host="127.0.0.1", debug=True)
# ok: crucible.debug-mode
app.run(host="127.0.0.1", debug=False)
# ruleid: crucible.debug-mode
debug_app = FastAPI(title="x", debug=True)
# ruleid: crucible.debug-mode
DEBUG = True
# ok: crucible.debug-mode
DEBUG = os.environ.get("DEBUG") == "1"


# --- crucible.cors-any-origin-with-credentials --------------------------------------------------

# ruleid: crucible.cors-any-origin-with-credentials
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_methods=["*"])
# ruleid: crucible.cors-any-origin-with-credentials
app.add_middleware(CORSMiddleware, allow_credentials=True, allow_origins=["*"])
# ok: crucible.cors-any-origin-with-credentials
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"], allow_credentials=True)
# ok: crucible.cors-any-origin-with-credentials
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=False)


# --- crucible.shell-command ---------------------------------------------------------------------


def convert(name):
    # ruleid: crucible.shell-command
    subprocess.run(f"convert {name} out.png", shell=True)
    # ruleid: crucible.shell-command
    os.system("convert " + name)
    # ok: crucible.shell-command
    subprocess.run(["convert", name, "out.png"], check=True)


# --- crucible.unsafe-deserialisation ------------------------------------------------------------


def load(request_body, body):
    # ruleid: crucible.unsafe-deserialisation
    payload = pickle.loads(request_body)
    # ruleid: crucible.unsafe-deserialisation
    config = yaml.load(body)
    # ruleid: crucible.unsafe-deserialisation
    config = yaml.load(body, Loader=yaml.Loader)
    # ok: crucible.unsafe-deserialisation
    payload = json.loads(request_body)
    # ok: crucible.unsafe-deserialisation
    config = yaml.safe_load(body)
    # ok: crucible.unsafe-deserialisation
    config = yaml.load(body, Loader=yaml.SafeLoader)
    return payload, config
