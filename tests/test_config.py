"""Configuration: which file is read, what it may say, and where the password comes from."""

from __future__ import annotations

import os

import pytest
from helpers import REPO, run, write_config

import create_tables
import etl
from sparkify.config import REGION, is_region, load_config
from sparkify.errors import ConfigError

SECRET = "S3cret-Passw0rd-value"
ARN = "arn:aws:iam::123456789012:role/sparkify-dwh-s3-read"

DUCKDB = {
    "DWH": {"ENGINE": "duckdb", "DUCKDB_PATH": "warehouse.duckdb"},
    "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
}
POSTGRES = {
    "DWH": {"ENGINE": "postgres"},
    "CLUSTER": {"HOST": "db.example.com", "DB_PORT": "5432", "DB_NAME": "sparkify", "DB_USER": "sparkify_admin"},
    "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
}
REDSHIFT = {
    "DWH": {"ENGINE": "redshift"},
    "CLUSTER": {"HOST": "dwh.abc123.us-west-2.redshift.amazonaws.com", "DB_PORT": "5439", "DB_NAME": "sparkify",
                "DB_USER": "sparkify_admin", "IDENTIFIER": "sparkify-dwh", "REGION": "us-west-2"},
    "IAM_ROLE": {"ARN": ARN},
    "S3": {"LOG_DATA": "s3://udacity-dend/log_data", "SONG_DATA": "s3://udacity-dend/song_data",
           "LOG_JSONPATH": "s3://udacity-dend/log_json_path.json", "REGION": "us-west-2",
           "MANIFEST_PREFIX": "s3://my-sparkify/manifests"},
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No $DWH_CONFIG, no password, and an empty current folder (no ./dwh.cfg, no ./.env).

    setenv before delenv makes monkeypatch restore the original state even when
    load_config's python-dotenv sets the variable behind its back.
    """
    for name in ("DWH_CONFIG", "DWH_DB_PASSWORD"):
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def with_values(sections: dict, section: str, **values) -> dict:
    """A copy of sections with some values changed; a value of None removes the key."""
    copy = {name: dict(keys) for name, keys in sections.items()}
    for key, value in values.items():
        if value is None:
            copy[section].pop(key, None)
        else:
            copy[section][key] = value
    return copy


def run_script(script, capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(script, *argv)
    out, err = capsys.readouterr()
    return code, out, err


def etl_fails(tmp_path, capsys, sections: dict) -> str:
    """Run etl.py on tmp_path/dwh.cfg holding sections; it must exit 1. Its stderr."""
    path = write_config(tmp_path / "dwh.cfg", sections)
    code, out, err = run_script(etl, capsys, "--config", path)
    assert code == 1
    return err


# ----------------------------------------------------------------- which file


def test_builtin_defaults_without_a_config_file():
    if (REPO / "dwh.cfg").exists():
        pytest.skip("a developer's dwh.cfg is in the project folder: it is read instead of the defaults")
    config = load_config()
    sample = REPO / "data" / "sample"
    assert config.engine == "duckdb"
    assert config.source is None
    assert config.max_errors == 0
    assert config.inputs.log_data == str(sample / "log_data")
    assert config.inputs.song_data == str(sample / "song_data")
    assert config.inputs.log_jsonpath == str(sample / "log_json_path.json")
    assert config.duckdb_path == REPO / "sparkify.duckdb"
    assert config.describe() == "engine duckdb, database sparkify.duckdb (built-in defaults)"


@pytest.mark.parametrize("script", [create_tables, etl], ids=["create_tables", "etl"])
def test_config_option_naming_a_missing_file_is_an_error(script, tmp_path, capsys):
    missing = tmp_path / "nope.cfg"
    code, out, err = run_script(script, capsys, "--config", missing)
    assert code == 1
    assert err == f"error: config file {missing} not found - copy dwh.cfg.example to it, or leave out --config\n"


def test_dwh_config_variable_names_the_file(tmp_path, monkeypatch):
    path = write_config(tmp_path / "elsewhere.cfg", with_values(DUCKDB, "DWH", MAX_ERRORS="7"))
    monkeypatch.setenv("DWH_CONFIG", str(path))
    config = load_config()
    assert config.source == path.resolve()
    assert config.max_errors == 7


def test_dwh_config_naming_a_missing_file_is_an_error(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "nope.cfg"
    monkeypatch.setenv("DWH_CONFIG", str(missing))
    code, out, err = run_script(etl, capsys)
    assert code == 1
    assert err == f"error: config file {missing} (from $DWH_CONFIG) not found\n"


def test_dwh_cfg_in_the_current_folder_is_read(clean_environment):
    path = write_config(clean_environment / "dwh.cfg", with_values(DUCKDB, "DWH", MAX_ERRORS="3"))
    config = load_config()
    assert config.source == path.resolve()
    assert config.max_errors == 3


def test_dwh_config_wins_over_dwh_cfg_in_the_current_folder(clean_environment, tmp_path, monkeypatch):
    write_config(clean_environment / "dwh.cfg", with_values(DUCKDB, "DWH", MAX_ERRORS="3"))
    chosen = write_config(tmp_path / "chosen.cfg", with_values(DUCKDB, "DWH", MAX_ERRORS="4"))
    monkeypatch.setenv("DWH_CONFIG", str(chosen))
    assert load_config().source == chosen.resolve()


def test_config_option_wins_over_dwh_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DWH_CONFIG", str(write_config(tmp_path / "env.cfg", DUCKDB)))
    chosen = write_config(tmp_path / "option.cfg", DUCKDB)
    assert load_config(chosen).source == chosen.resolve()


# ----------------------------------------------------------------- what it says


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    folder = tmp_path / "project" / "conf"
    folder.mkdir(parents=True)
    path = write_config(folder / "dwh.cfg", with_values(DUCKDB, "S3", LOG_JSONPATH="../paths.json"))
    config = load_config(path)  # the current folder is tmp_path/cwd
    assert config.inputs.log_data == str(folder / "input" / "log_data")
    assert config.inputs.song_data == str(folder / "input" / "song_data")
    assert config.inputs.log_jsonpath == str(tmp_path / "project" / "paths.json")
    assert config.duckdb_path == folder / "warehouse.duckdb"


def test_relative_config_option_and_paths_from_another_folder(tmp_path, clean_environment):
    folder = tmp_path / "conf"
    folder.mkdir()
    write_config(folder / "dwh.cfg", DUCKDB)
    config = load_config("../conf/dwh.cfg")
    assert config.inputs.log_data == str(folder / "input" / "log_data")
    assert config.duckdb_path == folder / "warehouse.duckdb"


def test_inline_comments_are_ignored(tmp_path):
    path = tmp_path / "dwh.cfg"
    path.write_text(
        "[DWH]\n"
        "ENGINE = duckdb   # the embedded one\n"
        "MAX_ERRORS = 5 ; a few\n"
        "DUCKDB_PATH = warehouse.duckdb  # beside this file\n"
        "[S3]\n"
        "LOG_DATA = input/log_data    # events\n"
        "SONG_DATA = input/song_data  # songs\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.engine == "duckdb"
    assert config.max_errors == 5
    assert config.duckdb_path == tmp_path / "warehouse.duckdb"
    assert config.inputs.log_data == str(tmp_path / "input" / "log_data")
    assert config.inputs.song_data == str(tmp_path / "input" / "song_data")


def test_unknown_engine_is_named(tmp_path, capsys):
    err = etl_fails(tmp_path, capsys, with_values(DUCKDB, "DWH", ENGINE="oracle"))
    assert err == "error: dwh.cfg: [DWH] ENGINE = oracle is not an engine - use one of duckdb, postgres, redshift\n"


MISSING_KEYS = {
    "duckdb [S3] LOG_DATA": (DUCKDB, "S3", "LOG_DATA"),
    "duckdb [S3] SONG_DATA": (DUCKDB, "S3", "SONG_DATA"),
    "postgres [CLUSTER] HOST": (POSTGRES, "CLUSTER", "HOST"),
    "postgres [CLUSTER] DB_NAME": (POSTGRES, "CLUSTER", "DB_NAME"),
    "postgres [CLUSTER] DB_USER": (POSTGRES, "CLUSTER", "DB_USER"),
    "redshift [IAM_ROLE] ARN": (REDSHIFT, "IAM_ROLE", "ARN"),
    "redshift [S3] LOG_JSONPATH": (REDSHIFT, "S3", "LOG_JSONPATH"),
}


@pytest.mark.parametrize("case", list(MISSING_KEYS))
def test_missing_required_key_is_named(case, tmp_path, capsys):
    sections, section, key = MISSING_KEYS[case]
    err = etl_fails(tmp_path, capsys, with_values(sections, section, **{key: None}))
    assert err == f"error: dwh.cfg: [{section}] {key} is missing - set it (see dwh.cfg.example)\n"


def test_redshift_without_manifest_prefix_says_where_manifests_go_and_to_rerun_setup(tmp_path, capsys):
    err = etl_fails(tmp_path, capsys, with_values(REDSHIFT, "S3", MANIFEST_PREFIX=None))
    assert err == (
        "error: dwh.cfg: [S3] MANIFEST_PREFIX is missing - set it to an s3:// prefix in a bucket of yours, where each "
        "run writes the COPY manifest of its new files, and run setup_cluster.py again so the cluster's role may read "
        "them (see dwh.cfg.example)\n"
    )


def test_empty_required_value_counts_as_missing(tmp_path, capsys):
    # dwh.cfg.example ships "HOST =" for setup_cluster.py to fill in
    err = etl_fails(tmp_path, capsys, with_values(POSTGRES, "CLUSTER", HOST=""))
    assert err == "error: dwh.cfg: [CLUSTER] HOST is missing - set it (see dwh.cfg.example)\n"


@pytest.mark.parametrize("value", ["lots", "-1", "2.5"])
def test_max_errors_must_be_a_whole_number(value, tmp_path, capsys):
    err = etl_fails(tmp_path, capsys, with_values(DUCKDB, "DWH", MAX_ERRORS=value))
    assert err == f"error: dwh.cfg: [DWH] MAX_ERRORS = {value} is not a whole number >= 0\n"


def test_db_port_must_be_a_whole_number(tmp_path, capsys):
    path = write_config(tmp_path / "dwh.cfg", with_values(POSTGRES, "CLUSTER", DB_PORT="54x"))
    code, out, err = run_script(etl, capsys, "--config", path)
    assert code == 1
    assert err == "error: dwh.cfg: [CLUSTER] DB_PORT = 54x is not a whole number\n"


@pytest.mark.parametrize("sections", [DUCKDB, POSTGRES, REDSHIFT], ids=["duckdb", "postgres", "redshift"])
def test_s3_region_is_checked_when_the_config_is_read_for_every_engine(sections, tmp_path, capsys):
    path = write_config(tmp_path / "dwh.cfg", with_values(sections, "S3", REGION="oregon"))
    code, out, err = run_script(etl, capsys, "--config", path)
    assert code == 1
    assert err == "error: dwh.cfg: [S3] REGION = oregon is not an AWS region - use a region code such as us-west-2\n"


def test_missing_s3_region_defaults_to_us_west_2(tmp_path):
    assert load_config(write_config(tmp_path / "dwh.cfg", DUCKDB)).inputs.region == "us-west-2"


@pytest.mark.parametrize("value", ["us-west-2", "eu-central-1", "ap-southeast-1", "us-gov-west-1", "cn-north-1"])
def test_region_codes_are_regions(value):
    assert is_region(value) and REGION.match(value) and REGION.fullmatch(value)


@pytest.mark.parametrize(
    "value", ["oregon", "us-west", "US-WEST-2", "us-west-2 ", "us-west-2\n", "us-west-2' IAM_ROLE 'x", "", "-us-west-2"]
)
def test_anything_else_is_not_a_region_even_with_match(value):
    # REGION is anchored at both ends: .match() alone cannot let a suffix through.
    assert not is_region(value) and REGION.match(value) is None


def test_redshift_refuses_local_input_folders(tmp_path, capsys):
    err = etl_fails(tmp_path, capsys, with_values(REDSHIFT, "S3", LOG_DATA="data/log_data"))
    assert err == "error: dwh.cfg: [S3] LOG_DATA must be an s3:// URI for engine redshift (COPY reads from S3)\n"
    with pytest.raises(ConfigError, match=r"\[S3\] LOG_DATA must be an s3:// URI"):
        load_config(tmp_path / "dwh.cfg")


def test_redshift_config_with_s3_locations_is_accepted(tmp_path):
    config = load_config(write_config(tmp_path / "dwh.cfg", REDSHIFT))
    assert config.engine == "redshift"
    assert config.iam_role_arn == ARN
    assert config.inputs.log_data == "s3://udacity-dend/log_data"
    assert config.inputs.log_jsonpath == "s3://udacity-dend/log_json_path.json"
    assert (config.connection.port, config.connection.db_name) == (5439, "sparkify")


# ----------------------------------------------------------------- the password


def test_password_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DWH_DB_PASSWORD", SECRET)
    config = load_config(write_config(tmp_path / "dwh.cfg", POSTGRES))
    assert config.connection.password == SECRET


def test_password_comes_from_dotenv_beside_the_config_file(tmp_path):
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / ".env").write_text(f"# git-ignored\nDWH_DB_PASSWORD={SECRET}\n", encoding="utf-8")
    config = load_config(write_config(folder / "dwh.cfg", POSTGRES))  # the current folder is elsewhere
    assert config.connection.password == SECRET


def test_password_comes_from_dotenv_in_the_current_folder(tmp_path, clean_environment):
    (clean_environment / ".env").write_text(f"DWH_DB_PASSWORD={SECRET}\n", encoding="utf-8")
    config = load_config(write_config(tmp_path / "dwh.cfg", POSTGRES))
    assert config.connection.password == SECRET


def test_environment_password_wins_over_dotenv(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("DWH_DB_PASSWORD=from-the-dotenv-file\n", encoding="utf-8")
    monkeypatch.setenv("DWH_DB_PASSWORD", SECRET)
    config = load_config(write_config(tmp_path / "dwh.cfg", POSTGRES))
    assert config.connection.password == SECRET


@pytest.mark.parametrize("script", [create_tables, etl], ids=["create_tables", "etl"])
def test_missing_password_for_postgres_is_an_error(script, tmp_path, capsys):
    path = write_config(tmp_path / "dwh.cfg", POSTGRES)
    code, out, err = run_script(script, capsys, "--config", path, "-q")
    assert code == 1
    assert err == "error: DWH_DB_PASSWORD is not set - export it or put it in a .env file beside the config file\n"


def test_describe_and_repr_never_show_the_password(tmp_path, monkeypatch):
    monkeypatch.setenv("DWH_DB_PASSWORD", SECRET)
    config = load_config(write_config(tmp_path / "dwh.cfg", POSTGRES))
    assert config.connection.password == SECRET
    assert config.describe() == "engine postgres, sparkify_admin@db.example.com:5432/sparkify (dwh.cfg)"
    for text in (config.describe(), repr(config), str(config), repr(config.connection), f"{config}"):
        assert SECRET not in text


# ----------------------------------------------------------------- [CLUSTER] AUTH


def test_redshift_without_a_password_logs_in_with_iam(tmp_path):
    c = load_config(write_config(tmp_path / "dwh.cfg", REDSHIFT)).connection
    assert (c.auth, c.iam.identifier, c.iam.workgroup, c.iam.region, c.password) == (
        "iam", "sparkify-dwh", None, "us-west-2", None)


def test_redshift_with_a_password_logs_in_with_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DWH_DB_PASSWORD", SECRET)
    c = load_config(write_config(tmp_path / "dwh.cfg", REDSHIFT)).connection
    assert (c.auth, c.iam, c.password) == ("password", None, SECRET)


def test_explicit_auth_iam_wins_over_a_password_which_is_then_not_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("DWH_DB_PASSWORD", SECRET)
    c = load_config(write_config(tmp_path / "dwh.cfg", with_values(REDSHIFT, "CLUSTER", AUTH="IAM"))).connection
    assert (c.auth, c.password) == ("iam", None)


@pytest.mark.parametrize("script", [create_tables, etl], ids=["create_tables", "etl"])
def test_explicit_auth_password_without_a_password_is_the_usual_error(script, tmp_path, capsys):
    path = write_config(tmp_path / "dwh.cfg", with_values(REDSHIFT, "CLUSTER", AUTH="password"))
    assert load_config(path).connection.auth == "password"
    code, out, err = run_script(script, capsys, "--config", path, "-q")
    assert code == 1
    assert err == "error: DWH_DB_PASSWORD is not set - export it or put it in a .env file beside the config file\n"


def test_postgres_logs_in_with_a_password_by_default(tmp_path):
    assert load_config(write_config(tmp_path / "dwh.cfg", POSTGRES)).connection.auth == "password"


def test_auth_iam_is_refused_for_postgres(tmp_path, capsys):
    err = etl_fails(tmp_path, capsys, with_values(POSTGRES, "CLUSTER", AUTH="iam"))
    assert err == (
        "error: dwh.cfg: [CLUSTER] AUTH = iam is for engine redshift only - use AUTH = password and DWH_DB_PASSWORD\n"
    )


def test_unknown_auth_is_named(tmp_path, capsys):
    err = etl_fails(tmp_path, capsys, with_values(REDSHIFT, "CLUSTER", AUTH="kerberos"))
    assert err == "error: dwh.cfg: [CLUSTER] AUTH = kerberos is not a way to log in - use one of iam, password\n"


@pytest.mark.parametrize("db_user", ["", "IAM", "iam"])
def test_empty_or_iam_db_user_means_the_user_named_after_the_iam_identity(tmp_path, db_user):
    config = load_config(write_config(tmp_path / "dwh.cfg", with_values(REDSHIFT, "CLUSTER", DB_USER=db_user)))
    assert config.connection.user == ""
    assert config.describe() == (
        "engine redshift, <IAM identity>@dwh.abc123.us-west-2.redshift.amazonaws.com:5439/sparkify (dwh.cfg)"
    )


def test_describe_names_the_iam_database_user(tmp_path):
    config = load_config(write_config(tmp_path / "dwh.cfg", REDSHIFT))
    assert config.describe() == (
        "engine redshift, IAM:sparkify_admin@dwh.abc123.us-west-2.redshift.amazonaws.com:5439/sparkify (dwh.cfg)"
    )


def test_a_workgroup_is_used_instead_of_the_cluster(tmp_path):
    config = load_config(write_config(tmp_path / "dwh.cfg", with_values(
        REDSHIFT, "CLUSTER", WORKGROUP="sparkify-wg", IDENTIFIER=None)))
    assert (config.connection.iam.workgroup, config.connection.iam.identifier) == ("sparkify-wg", None)
    assert config.describe().startswith("engine redshift, <IAM identity>@")


def test_auth_iam_needs_the_cluster_or_workgroup(tmp_path, capsys):
    err = etl_fails(tmp_path, capsys, with_values(REDSHIFT, "CLUSTER", IDENTIFIER=None))
    assert err == (
        "error: dwh.cfg: [CLUSTER] IDENTIFIER is missing - with AUTH = iam (the default when DWH_DB_PASSWORD is not "
        "set) the database credentials come from AWS for this cluster: set IDENTIFIER, or WORKGROUP for Redshift "
        "Serverless, or set DWH_DB_PASSWORD\n"
    )


def test_auth_iam_needs_the_region(tmp_path, capsys):
    err = etl_fails(tmp_path, capsys, with_values(REDSHIFT, "CLUSTER", AUTH="iam", REGION=None))
    assert err == (
        "error: dwh.cfg: [CLUSTER] REGION is missing - with AUTH = iam the database credentials come from AWS in "
        "the cluster's region: set it, e.g. us-west-2\n"
    )


def test_auth_iam_checks_the_region(tmp_path, capsys):
    err = etl_fails(tmp_path, capsys, with_values(REDSHIFT, "CLUSTER", REGION="oregon"))
    assert err == "error: dwh.cfg: [CLUSTER] REGION = oregon is not an AWS region - use a region code such as us-west-2\n"


def test_auth_password_needs_neither_cluster_nor_region(tmp_path, monkeypatch):
    monkeypatch.setenv("DWH_DB_PASSWORD", SECRET)
    sections = with_values(REDSHIFT, "CLUSTER", IDENTIFIER=None, REGION=None)
    assert load_config(write_config(tmp_path / "dwh.cfg", sections)).connection.auth == "password"


# ----------------------------------------------------------------- no secrets in the file

PASSWORD_FIX = "put DWH_DB_PASSWORD in the environment or in .env beside the config (git-ignored)"
AWS_FIX = (
    "AWS credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment or in .env "
    "beside the config (git-ignored), or from a profile in ~/.aws"
)
SECRET_KEYS = {
    "[CLUSTER] DB_PASSWORD": ("CLUSTER", "DB_PASSWORD", PASSWORD_FIX),
    "[CLUSTER] DWH_DB_PASSWORD": ("CLUSTER", "DWH_DB_PASSWORD", PASSWORD_FIX),
    "[DWH] PASSWORD": ("DWH", "PASSWORD", PASSWORD_FIX),
    "[CLUSTER] db_password": ("CLUSTER", "db_password", PASSWORD_FIX),
    "[AWS] KEY": ("AWS", "KEY", AWS_FIX),
    "[AWS] SECRET": ("AWS", "SECRET", AWS_FIX),
    "[AWS] AWS_ACCESS_KEY_ID": ("AWS", "AWS_ACCESS_KEY_ID", AWS_FIX),
    "[AWS] AWS_SECRET_ACCESS_KEY": ("AWS", "AWS_SECRET_ACCESS_KEY", AWS_FIX),
    "[S3] CLIENT_SECRET": ("S3", "CLIENT_SECRET",
                           "dwh.cfg holds no secrets; keep it in the environment or in .env beside the config (git-ignored)"),
    "[DEFAULT] PASSWORD": ("DEFAULT", "PASSWORD", PASSWORD_FIX),
}


@pytest.mark.parametrize("sections", [DUCKDB, POSTGRES, REDSHIFT], ids=["duckdb", "postgres", "redshift"])
@pytest.mark.parametrize("case", list(SECRET_KEYS))
def test_secret_in_the_config_file_is_refused_and_not_shown(case, sections, tmp_path, capsys):
    section, key, fix = SECRET_KEYS[case]
    copy = {name: dict(keys) for name, keys in sections.items()}
    copy.setdefault(section, {})[key] = SECRET
    path = write_config(tmp_path / "dwh.cfg", copy)
    code, out, err = run_script(etl, capsys, "--config", path)
    assert code == 1
    assert err == f"error: dwh.cfg: [{section}] {key} is a secret - remove it from the file; {fix}\n"
    assert SECRET not in out + err


def test_empty_password_key_is_refused_too(tmp_path):
    # "DB_PASSWORD =" invites filling it in; the fix is the same: the password lives elsewhere
    path = write_config(tmp_path / "dwh.cfg", with_values(POSTGRES, "CLUSTER", DB_PASSWORD=""))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"dwh.cfg: [CLUSTER] DB_PASSWORD is a secret - remove it from the file; {PASSWORD_FIX}"


@pytest.mark.parametrize("key", ["DB_USER", "IAM_ROLE_NAME", "ARN", "LOG_JSONPATH", "ALLOWED_CIDR", "NODE_TYPE"])
def test_ordinary_keys_are_not_taken_for_secrets(key):
    from sparkify.secret_files import _secret_fix

    assert _secret_fix(key) is None


# ----------------------------------------------------------------- a .env another user could have written

NOT_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")


def dotenv(folder, mode: int = 0o600):
    env = folder / ".env"
    env.write_text(f"DWH_DB_PASSWORD={SECRET}\n", encoding="utf-8")
    env.chmod(mode)
    return env


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602, 0o660], ids=oct)
def test_dotenv_writable_by_other_users_is_refused(mode, tmp_path, capsys):
    env = dotenv(tmp_path, mode)
    path = write_config(tmp_path / "dwh.cfg", POSTGRES)
    code, out, err = run_script(etl, capsys, "--config", path)
    assert code == 1
    assert err == f"error: .env beside dwh.cfg ({env}) is writable by other users - run chmod 600 {env}\n"
    assert SECRET not in out + err and "DWH_DB_PASSWORD" not in os.environ


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o644], ids=oct)
def test_dotenv_only_its_owner_may_write_is_read(mode, tmp_path):
    dotenv(tmp_path, mode)
    assert load_config(write_config(tmp_path / "dwh.cfg", POSTGRES)).connection.password == SECRET


def test_dotenv_that_is_a_symbolic_link_is_refused(tmp_path, capsys):
    (tmp_path / "elsewhere").mkdir()
    target = dotenv(tmp_path / "elsewhere")
    env = tmp_path / ".env"
    env.symlink_to(target)
    path = write_config(tmp_path / "dwh.cfg", POSTGRES)
    code, out, err = run_script(etl, capsys, "--config", path)
    assert code == 1
    assert err == (
        f"error: .env beside dwh.cfg ({env}) is a symbolic link - replace it with a regular file of your own (chmod 600)\n"
    )
    assert SECRET not in out + err and "DWH_DB_PASSWORD" not in os.environ


@NOT_ROOT
def test_dotenv_owned_by_another_user_is_refused(tmp_path, capsys):
    env = dotenv(tmp_path)
    os.chown(env, 65534, 65534)
    path = write_config(tmp_path / "dwh.cfg", POSTGRES)
    code, out, err = run_script(etl, capsys, "--config", path)
    assert code == 1
    assert err == (
        f"error: .env beside dwh.cfg ({env}) is owned by uid 65534, not you (uid 0) - "
        f"recreate it as your own file, then run chmod 600 {env}\n"
    )
    assert "DWH_DB_PASSWORD" not in os.environ


def test_dotenv_in_the_current_folder_is_checked_too(tmp_path, clean_environment, capsys):
    env = dotenv(clean_environment, 0o666)
    path = write_config(tmp_path / "dwh.cfg", POSTGRES)
    code, out, err = run_script(etl, capsys, "--config", path)
    assert code == 1
    assert err == f"error: .env in the current folder ({env}) is writable by other users - run chmod 600 {env}\n"


# ----------------------------------------------------------------- the jsonpaths file is not data

JSONPATHS_UNDER_DATA = {
    "in the log_data folder": (
        {"LOG_JSONPATH": "s3://udacity-dend/log_data/paths.json"},
        "s3://udacity-dend/log_data/paths.json", "LOG_DATA", "s3://udacity-dend/log_data", "s3://udacity-dend/paths.json"),
    "beginning with log_data": (
        {"LOG_JSONPATH": "s3://udacity-dend/log_data_paths.json"},
        "s3://udacity-dend/log_data_paths.json", "LOG_DATA", "s3://udacity-dend/log_data",
        "s3://udacity-dend/jsonpaths/log_data_paths.json"),
    "a short LOG_DATA prefix": (
        {"LOG_DATA": "s3://udacity-dend/log"},
        "s3://udacity-dend/log_json_path.json", "LOG_DATA", "s3://udacity-dend/log",
        "s3://udacity-dend/jsonpaths/log_json_path.json"),
    "in the song_data folder": (
        {"LOG_JSONPATH": "s3://udacity-dend/song_data/log_json_path.json"},
        "s3://udacity-dend/song_data/log_json_path.json", "SONG_DATA", "s3://udacity-dend/song_data",
        "s3://udacity-dend/log_json_path.json"),
}


@pytest.mark.parametrize("case", list(JSONPATHS_UNDER_DATA))
def test_redshift_refuses_a_jsonpaths_file_copy_would_load_as_data(case, tmp_path, capsys):
    values, jsonpath, key, prefix, outside = JSONPATHS_UNDER_DATA[case]
    path = write_config(tmp_path / "dwh.cfg", with_values(REDSHIFT, "S3", **values))
    code, out, err = run_script(etl, capsys, "--config", path)
    assert code == 1
    assert err == (
        f"error: dwh.cfg: [S3] LOG_JSONPATH = {jsonpath} is under [S3] {key} = {prefix}, and COPY loads every object "
        f"whose key begins with that prefix as data - move the jsonpaths file outside it, e.g. to {outside}\n"
    )


@pytest.mark.parametrize(
    "values",
    [
        {"LOG_DATA": "s3://udacity-dend/log_data/", "LOG_JSONPATH": "s3://udacity-dend/log_data_paths.json"},
        {"LOG_JSONPATH": "s3://other-bucket/log_data/paths.json"},
        {"LOG_JSONPATH": "s3://udacity-dend/jsonpaths/log_json_path.json"},
    ],
    ids=["folder-prefix", "other-bucket", "own-folder"],
)
def test_redshift_accepts_a_jsonpaths_file_outside_the_data_prefixes(values, tmp_path):
    config = load_config(write_config(tmp_path / "dwh.cfg", with_values(REDSHIFT, "S3", **values)))
    assert config.inputs.log_jsonpath == values["LOG_JSONPATH"]
