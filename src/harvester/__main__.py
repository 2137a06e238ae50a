from harvester.cli.main import run

run()
