"""`python -m tests.support.cli_entry ...`: the real CLI with the test connector type registered."""

import tests.support.fake_connector  # noqa: F401  (registers type "fake")
from hub.cli import main

if __name__ == "__main__":
    main()
