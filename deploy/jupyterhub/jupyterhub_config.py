"""JupyterHub for the W1-S3 course on one machine (started by deploy/jupyterhub/start).

Real OS users log in with their passwords (PAM). Members of the OS group
`dl-w1s3-instructors` are the course's graders: they reach the formgrader, a hub-managed
service run as the grader account in the course folder. Members of `dl-w1s3-students` get
JupyterLab with nbgrader's Assignments tab. `gradekit watch w1s3`, a second managed
service, grades each submission as it arrives (docs/instructor/watch.md). Group members
are read when the hub starts: restart it after adding someone.
"""

import grp
import os
import pwd

c = get_config()  # noqa: F821

COURSE = "dl-w1s3"
ASSIGNMENT = "w1s3"
GRADER = f"grader-{COURSE}"  # the account that owns the course folder and runs the services
PREFIX = os.environ.get("GRADEKIT_HUB_PREFIX", "/opt/gradekit")
COURSE_FOLDER = f"/home/{GRADER}/{COURSE}"
BIN = f"{PREFIX}/venv/bin"
PATH = f"{BIN}:/usr/local/bin:/usr/bin:/bin"  # the kit's environment first


# Where people reach the hub; the proxy's API, the hub itself and the formgrader listen on
# the next three ports of the loopback interface.
IP = os.environ.get("GRADEKIT_HUB_IP", "127.0.0.1")
PORT = int(os.environ.get("GRADEKIT_HUB_PORT", "8000"))
c.JupyterHub.bind_url = f"http://{IP}:{PORT}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PORT + 1}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{PORT + 2}"
c.JupyterHub.db_url = f"sqlite:///{PREFIX}/hub/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{PREFIX}/hub/jupyterhub_cookie_secret"
c.ConfigurableHTTPProxy.command = [f"{PREFIX}/node/node_modules/.bin/configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = f"{PREFIX}/hub/jupyterhub-proxy.pid"

# Passwords are the machine's own (PAM); only the course's two groups may log in.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_groups = {f"{COURSE}-instructors", f"{COURSE}-students"}

# Each user's JupyterLab, started as that OS user, from the kit's environment.
c.Spawner.cmd = [f"{BIN}/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"


def private_home(spawner) -> None:
    """A user's home is theirs alone (Debian makes homes readable by everyone): no student
    reads another's notebooks or fetched feedback."""
    os.chmod(pwd.getpwnam(spawner.user.name).pw_dir, 0o700)


c.Spawner.pre_spawn_hook = private_home
c.Spawner.environment = {
    "PATH": PATH,
    # no formgrader, no assignment creator (jupyter/users/), no news or update checks
    "JUPYTER_CONFIG_PATH": f"{PREFIX}/jupyter/users:{PREFIX}/jupyter/everyone",
}


def os_groups(user: str) -> set[str]:
    """The OS groups the user is in, their primary group included."""
    gids = os.getgrouplist(user, pwd.getpwnam(user).pw_gid)
    return {grp.getgrgid(gid).gr_name for gid in gids}


def course_groups(authenticator, handler, auth_model: dict) -> dict:
    """The user's hub groups, from their OS groups at each login: the course's instructors
    are its graders (`formgrade-<course>`, nbgrader's name: its course list shows them this
    course's formgrader)."""
    graders = f"{COURSE}-instructors" in os_groups(auth_model["name"])
    auth_model["groups"] = [f"formgrade-{COURSE}"] if graders else []
    return auth_model


# The formgrader is for the course's graders only.
c.Authenticator.manage_groups = True
c.Authenticator.post_auth_hook = course_groups
c.JupyterHub.load_roles = [
    {
        "name": f"formgrade-{COURSE}",
        "groups": [f"formgrade-{COURSE}"],
        "scopes": [
            f"access:services!service={COURSE}",
            "list:services",
            f"read:services!service={COURSE}",
        ],
    },
    # nbgrader's course list asks the hub which courses its user grades
    {"name": "server", "scopes": ["inherit"]},
]

c.JupyterHub.services = [
    {
        # The formgrader: the grader account's JupyterLab in the course folder. The service's
        # name is the course id (nbgrader looks it up by that name).
        "name": COURSE,
        "url": f"http://127.0.0.1:{PORT + 3}",
        "command": [f"{BIN}/jupyterhub-singleuser"],
        "user": GRADER,
        "cwd": COURSE_FOLDER,
        "oauth_no_confirm": True,
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/lab",
            "PATH": PATH,
            # Lab may show the formgrader's pages in a tab (jupyter/formgrader/)
            "JUPYTER_CONFIG_PATH": f"{PREFIX}/jupyter/formgrader:{PREFIX}/jupyter/everyone",
        },
    },
    {
        # Feedback on submit: grades each new submission and releases its feedback.
        "name": f"watch-{ASSIGNMENT}",
        "command": [f"{BIN}/gradekit", "watch", ASSIGNMENT, "--course", COURSE_FOLDER],
        "user": GRADER,
        "cwd": COURSE_FOLDER,
        "environment": {"PATH": PATH},
    },
]
