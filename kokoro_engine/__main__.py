import sys

from kokoro_engine.cli import main

sys.exit(main())
