from crewscope.demo.run import main

raise SystemExit(main())
