from memoryd.cli.daemon_cmd import main

raise SystemExit(main())
