from louyu_research.cli import main

main()
