# Dot-sourced by preprovision.ps1 and scripts/rotate-token-key.ps1 (twin of token-keys.sh; keep the two in step):
# which token encryption keys the vault holds. Key Vault is the only record of them.

# The ids of the vault's enabled token keys, oldest first (k1 is token-encryption-key, kN is token-encryption-key-kN),
# from Azure Resource Manager's metadata of its secrets (never a value); $null when it can't tell.
function Get-TokenKeyIds([string] $Sub, [string] $Rg, [string] $Vault) {
    $url = "https://management.azure.com/subscriptions/$Sub/resourceGroups/$Rg/providers/Microsoft.KeyVault/vaults/$Vault/secrets?api-version=2024-11-01"
    $names = az rest --method get --url $url --query 'value[?properties.attributes.enabled].name' --output tsv 2>$null
    if ($LASTEXITCODE -ne 0) { $global:LASTEXITCODE = 0; return $null }
    $numbers = @($names | ForEach-Object {
        $name = "$_".Trim()
        if ($name -eq 'token-encryption-key') { 1 }
        elseif ($name -match '^token-encryption-key-k([0-9]+)$') { [int] $Matches[1] }
    } | Sort-Object)
    return @($numbers | ForEach-Object { "k$_" })
}

# The key that encrypts: the newest of $Ids that is not $Pending (added by the rotation script, not current yet).
function Get-CurrentTokenKey([string[]] $Ids, [string] $Pending) {
    return @($Ids | Where-Object { $_ -ne $Pending }) | Select-Object -Last 1
}
