# azd preprovision hook (Windows twin of preprovision.sh; keep the two in step).
#  1. Stops with a clear message when the FreshBooks app credentials are not in the azd environment.
#  2. Makes TOKEN_ENCRYPTION_KEY and ONBOARDING_SIGNING_KEY once per environment (32 random bytes,
#     base64) and stores them with `azd env set`. An existing value is never replaced: a new token
#     key would make every stored connection unreadable (rotate as README.md, "Deploy", says instead).
$ErrorActionPreference = 'Stop'

function Get-AzdValue([string] $Name) {
    $value = azd env get-value $Name 2>$null
    if ($LASTEXITCODE -ne 0) { $value = '' }
    $global:LASTEXITCODE = 0
    return "$value".Trim()
}

$missing = @('FRESHBOOKS_CLIENT_ID', 'FRESHBOOKS_CLIENT_SECRET') |
    Where-Object { -not (Get-AzdValue $_) -and -not [Environment]::GetEnvironmentVariable($_) }
if ($missing) {
    [Console]::Error.WriteLine("ERROR: not set in the azd environment: $($missing -join ' ')")
    [Console]::Error.WriteLine('Copy them from your app in the FreshBooks developer portal, then run:')
    $missing | ForEach-Object { [Console]::Error.WriteLine("  azd env set $_ <value>") }
    exit 1
}

foreach ($name in 'TOKEN_ENCRYPTION_KEY', 'ONBOARDING_SIGNING_KEY') {
    if (Get-AzdValue $name) {
        Write-Host "${name}: already set, kept."
        continue
    }
    # A value exported in the shell (say, restored from a backup) wins over a new one.
    $value = [Environment]::GetEnvironmentVariable($name)
    if (-not $value) {
        $bytes = [byte[]]::new(32)
        [System.Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
        $value = [Convert]::ToBase64String($bytes)
    }
    azd env set $name $value | Out-Null
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    Write-Host "${name}: stored in the azd environment."
}
