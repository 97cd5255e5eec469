"""The crash tester's pure part: the processes of a throwaway site (site.py), the nemeses that
kill, pause and restart them, the progress watchdog, and the accounting that checks nothing was
lost or done twice. No Django: everything Django runs in the site's own processes."""
