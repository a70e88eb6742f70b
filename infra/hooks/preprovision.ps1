# azd preprovision hook (Windows twin of preprovision.sh; keep the two in step).
# Stops with a clear message when the FreshBooks app credentials are not in the azd environment.
# The app's own keys are not made here: they live only in Key Vault, where postprovision.ps1 creates
# each once (README.md, "Deploy").
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
Write-Host 'FreshBooks app credentials: set.'
