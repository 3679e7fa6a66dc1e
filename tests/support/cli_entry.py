"""`python -m tests.support.cli_entry ...`: the real CLI with the test connector types
("fake", "fake_carrier") registered."""

from omnisync.hub.cli import main
from tests.support import fake_carrier, fake_connector  # noqa: F401  (they register their types)

if __name__ == "__main__":
    main()
