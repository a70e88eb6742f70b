using System.Runtime.Versioning;

// run.sh is bash; the tests signal process groups with kill(2) and look for leftovers in /proc.
[assembly: SupportedOSPlatform("linux")]
