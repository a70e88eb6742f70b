using System.Runtime.Versioning;

// The Bicep CLI comes from the linux-x64 package, and the preprovision hook is a posix shell script.
[assembly: SupportedOSPlatform("linux")]
