from slmscout.cli.app import main

main()
