import sys

from reports import report

print(report(sys.argv[1] if len(sys.argv) > 1 else "today"))
