from jitflow.cli import main

main()
