import sys

from memory_hub.cli import main

sys.exit(main())
