# azd preprovision hook (Windows twin of preprovision.sh; keep the two in step).
#  1. Stops with a clear message when the FreshBooks app credentials are not in the azd environment.
#  2. For an environment whose Key Vault exists already, pins KEY_VAULT_RETENTION_DAYS to the vault's
#     own soft-delete retention, which can't change after creation (older templates made it 7 days).
# The app's own keys are not made here: they live only in Key Vault, where postprovision.ps1 creates
# each once (README.md, "Deploy").
$ErrorActionPreference = 'Stop'

. (Join-Path $PSScriptRoot 'azd-environment.ps1')

$missing = @('FRESHBOOKS_CLIENT_ID', 'FRESHBOOKS_CLIENT_SECRET') |
    Where-Object { -not (Get-AzdValue $_) }
if ($missing) {
    [Console]::Error.WriteLine("ERROR: not set in the azd environment: $($missing -join ' ')")
    [Console]::Error.WriteLine('Copy them from your app in the FreshBooks developer portal, then run:')
    $missing | ForEach-Object { [Console]::Error.WriteLine("  azd env set $_ <value>") }
    exit 1
}
Write-Host 'FreshBooks app credentials: set.'

$vault = Get-AzdValue 'AZURE_KEY_VAULT_NAME'
if ($vault -and -not (Get-AzdValue 'KEY_VAULT_RETENTION_DAYS')) {
    $sub = Get-AzdValue 'AZURE_SUBSCRIPTION_ID'
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

# The token keys: every key in the vault is one TokenProtection__Keys__<id> setting (README.md,
# "Rotate the token encryption key"). Only ids go to the azd environment, never a key.
$rg = Get-AzdValue 'AZURE_RESOURCE_GROUP'
$sub = Get-AzdValue 'AZURE_SUBSCRIPTION_ID'
if ($vault -and $rg -and $sub) {
    . (Join-Path $PSScriptRoot 'token-keys.ps1')
    $ids = Get-TokenKeyIds $sub $rg $vault
    if ($null -eq $ids) {
        az keyvault show --name $vault --subscription $sub --query name --output tsv *> $null
        if ($LASTEXITCODE -eq 0) {
            [Console]::Error.WriteLine("ERROR: could not list the token keys of Key Vault $vault (az rest failed); a provision without them could leave connections unreadable. Check az login.")
            exit 1
        }
        $global:LASTEXITCODE = 0
        $ids = @()
    }
    if ($ids.Count -gt 0) {
        $pending = Get-AzdValue 'TOKEN_KEY_PENDING'
        $current = Get-CurrentTokenKey $ids $pending
        azd env set TOKEN_KEY_IDS ($ids -join ',') | Out-Null
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
        azd env set TOKEN_CURRENT_KEY_ID $current | Out-Null
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
        $note = if ($pending) { " ($pending added, not current yet)" } else { '' }
        Write-Host "Token keys in Key Vault ${vault}: $($ids -join ' '); current $current$note."
    }
}
