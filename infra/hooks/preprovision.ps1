# azd preprovision hook (Windows twin of preprovision.sh; keep the two in step).
#  1. Stops with a clear message when the FreshBooks app credentials are not in the azd environment.
#  2. For an environment whose Key Vault exists already, pins KEY_VAULT_RETENTION_DAYS to the vault's
#     own soft-delete retention, which can't change after creation (older templates made it 7 days).
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

function Get-Value([string] $Name) {
    $value = Get-AzdValue $Name
    if (-not $value) { $value = "$([Environment]::GetEnvironmentVariable($Name))".Trim() }
    return $value
}

$vault = Get-Value 'AZURE_KEY_VAULT_NAME'
if ($vault -and -not (Get-Value 'KEY_VAULT_RETENTION_DAYS')) {
    $sub = Get-Value 'AZURE_SUBSCRIPTION_ID'
    $arguments = @('keyvault', 'show', '--name', $vault, '--query', 'properties.softDeleteRetentionInDays', '--output', 'tsv')
    if ($sub) { $arguments += @('--subscription', $sub) }
    $days = "$(az @arguments 2>$null)".Trim()
    if ($LASTEXITCODE -eq 0 -and $days -match '^[0-9]+$') {
        azd env set KEY_VAULT_RETENTION_DAYS $days | Out-Null
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
        Write-Host "Key Vault ${vault}: keeps its ${days}-day soft-delete retention (fixed when a vault is created); KEY_VAULT_RETENTION_DAYS=$days."
    }
    $global:LASTEXITCODE = 0
}
