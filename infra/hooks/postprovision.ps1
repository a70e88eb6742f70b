# azd postprovision hook (Windows twin of postprovision.sh; keep the two in step).
#  1. Key Vault is the only home of the app's own keys: token-encryption-key (the app's k1),
#     onboarding-signing-key and events-signing-secret (the webhook signing secret). Each is created
#     once, when the vault does not have it, and never written again. A new key is 32 random bytes
#     (the events secret is whsec_ and their base64, the Standard Webhooks form), written through
#     infra/hooks/app-keys.bicep with a parameters file only this user can read, deleted at exit: never
#     on a command line, never in the azd environment, never printed.
#  2. Keys an older template kept in the azd environment are removed from it once the vault holds
#     them; a key the vault lacks is restored from that copy rather than replaced.
#  3. After creating the token or link key (a new environment) it waits for the new role assignments
#     to take effect before the first deploy. After creating any key it restarts the app so it resolves
#     its Key Vault references again.
# Needs the Azure CLI signed in (`az login`) to the environment's subscription.
$ErrorActionPreference = 'Stop'

$secretNames = @('token-encryption-key', 'onboarding-signing-key', 'events-signing-secret')
# Older templates kept the first two in the azd environment; a newer secret has no old copy.
$legacyNames = @{ 'token-encryption-key' = 'TOKEN_ENCRYPTION_KEY'; 'onboarding-signing-key' = 'ONBOARDING_SIGNING_KEY' }
$parameterNames = @{ 'token-encryption-key' = 'tokenEncryptionKey'; 'onboarding-signing-key' = 'onboardingSigningKey'; 'events-signing-secret' = 'eventsSigningSecret' }
# What goes before the base64 of a new value's 32 random bytes.
$prefixes = @{ 'events-signing-secret' = 'whsec_' }

. (Join-Path $PSScriptRoot 'azd-environment.ps1')

function Get-AzdStoredValue([string] $Name) {
    if (-not $Name) { return '' }
    $value = azd env get-value $Name 2>$null
    if ($LASTEXITCODE -ne 0) { $value = '' }
    $global:LASTEXITCODE = 0
    return "$value".Trim()
}

Assert-AzdOutputs @('AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_KEY_VAULT_NAME', 'AZURE_FUNCTION_APP_NAME')
$sub = Get-AzdValue 'AZURE_SUBSCRIPTION_ID'
$rg = Get-AzdValue 'AZURE_RESOURCE_GROUP'
$vault = Get-AzdValue 'AZURE_KEY_VAULT_NAME'
$app = Get-AzdValue 'AZURE_FUNCTION_APP_NAME'
Assert-AzSignedIn $sub

$vaultId = "/subscriptions/$sub/resourceGroups/$rg/providers/Microsoft.KeyVault/vaults/$vault"

# 'present' or 'missing', from Azure Resource Manager's metadata of the secret (never its value).
# Any other answer stops the hook: a key is never created on a doubt.
function Get-SecretState([string] $Name) {
    $errorText = az resource show --ids "$vaultId/secrets/$Name" --query name --output tsv 2>&1 |
        Where-Object { $_ -is [System.Management.Automation.ErrorRecord] } | Out-String
    $code = $LASTEXITCODE
    $global:LASTEXITCODE = 0
    if ($code -eq 0) { return 'present' }
    if ($code -eq 3 -or $errorText -match 'ResourceNotFound') { return 'missing' }
    [Console]::Error.WriteLine("ERROR: could not tell whether Key Vault $vault has secret $Name (az exit code $code); nothing was created.")
    [Console]::Error.WriteLine($errorText)
    exit 1
}

$missing = @()
foreach ($name in $secretNames) {
    if ((Get-SecretState $name) -eq 'present') {
        Write-Host "${name}: in Key Vault $vault, kept."
    }
    else {
        $missing += $name
    }
}

$created = @()
if ($missing) {
    $work = Join-Path ([System.IO.Path]::GetTempPath()) ([System.IO.Path]::GetRandomFileName())
    $directory = New-Item -ItemType Directory -Path $work
    try {
        if (-not $IsWindows) { [System.IO.File]::SetUnixFileMode($directory.FullName, [System.IO.UnixFileMode]'UserRead, UserWrite, UserExecute') }
        else {
            # Only the current user may read the folder that briefly holds the keys.
            $acl = Get-Acl $work
            $acl.SetAccessRuleProtection($true, $false)
            $rule = [System.Security.AccessControl.FileSystemAccessRule]::new([System.Security.Principal.WindowsIdentity]::GetCurrent().Name, 'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow')
            $acl.SetAccessRule($rule)
            Set-Acl -Path $work -AclObject $acl
        }

        $parameters = [ordered]@{ vaultName = @{ value = $vault } }
        foreach ($name in $missing) {
            $key = Get-AzdStoredValue $legacyNames[$name]
            if (-not $key) {
                $bytes = [byte[]]::new(32)
                [System.Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
                $key = "$($prefixes[$name])$([Convert]::ToBase64String($bytes))"
            }
            $parameters[$parameterNames[$name]] = @{ value = $key }
        }
        $file = Join-Path $work 'app-keys.parameters.json'
        $json = [ordered]@{
            '$schema' = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#'
            contentVersion = '1.0.0.0'
            parameters = $parameters
        } | ConvertTo-Json -Depth 5
        [System.IO.File]::WriteAllText($file, $json)
        if (-not $IsWindows) { [System.IO.File]::SetUnixFileMode($file, [System.IO.UnixFileMode]'UserRead, UserWrite') }
        $parameters = $null
        $json = $null
        $key = $null

        az deployment group create --subscription $sub --resource-group $rg --name app-keys `
            --template-file (Join-Path $PSScriptRoot 'app-keys.bicep') --parameters "@$file" --output none
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    }
    finally {
        Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
    }

    foreach ($name in $missing) {
        if ((Get-SecretState $name) -ne 'present') {
            [Console]::Error.WriteLine("ERROR: Key Vault $vault still lacks $name after creating it.")
            exit 1
        }
        if (Get-AzdStoredValue $legacyNames[$name]) {
            Write-Host "${name}: restored into Key Vault $vault from the azd environment's old copy."
        }
        else {
            $prefix = if ($prefixes[$name]) { "$($prefixes[$name]) and " } else { '' }
            Write-Host "${name}: created in Key Vault $vault (${prefix}32 random bytes)."
        }
        $created += $name
    }
}

# The vault holds every key now: an old copy in the azd environment is only a risk (plain text).
foreach ($name in $secretNames) {
    $legacyName = $legacyNames[$name]
    if ($legacyName -and (Get-AzdStoredValue $legacyName)) {
        azd env set $legacyName '' | Out-Null
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
        Write-Host "${legacyName}: removed from the azd environment; the key lives in Key Vault only."
    }
}

if ($created) {
    $waitSeconds = if ($env:ROLE_PROPAGATION_WAIT_SECONDS) { [int]$env:ROLE_PROPAGATION_WAIT_SECONDS } else { 180 }
    # Only the events secret new: an environment from before events, whose roles took effect long ago.
    # Its app already has the new reference and fails to start without the secret: restart it at once.
    if (-not ($created -contains 'token-encryption-key' -or $created -contains 'onboarding-signing-key')) { $waitSeconds = 0 }
    if ($waitSeconds -gt 0) {
        Write-Host "New keys: waiting ${waitSeconds}s for this environment's new role assignments to take effect before the deploy (ROLE_PROPAGATION_WAIT_SECONDS changes this)."
        Start-Sleep -Seconds $waitSeconds
    }
    # The app may have started before its keys existed; a restart makes it resolve its references again.
    az functionapp restart --subscription $sub --resource-group $rg --name $app --output none
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    Write-Host "Function app $app restarted to read its keys."
}
