from goldpath.cli import main

main()
