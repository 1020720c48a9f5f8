from dlcourse.bench.suite import main

raise SystemExit(main())
