from mcp_shim.main import main

raise SystemExit(main())
