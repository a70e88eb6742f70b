# Dot-sourced by the hooks and by infra/scripts (Windows twin of azd-environment.sh; keep the two in step): reading the
# azd environment, and the two checks every step that talks to Azure makes before it changes anything.

# The value in the azd environment, or else in this process's environment (azd exports the environment's values to
# hooks, so a value only exported in the shell counts as set), or empty.
function Get-AzdValue([string] $Name) {
    $value = azd env get-value $Name 2>$null
    if ($LASTEXITCODE -ne 0) { $value = '' }
    $global:LASTEXITCODE = 0
    if (-not "$value".Trim()) { $value = [Environment]::GetEnvironmentVariable($Name) }
    return "$value".Trim()
}

# Exits 1 naming the provision's outputs unless the azd environment has every one of them.
function Assert-AzdOutputs([string[]] $Names) {
    foreach ($name in $Names) {
        if (-not (Get-AzdValue $name)) {
            [Console]::Error.WriteLine("ERROR: the azd environment lacks the provision's outputs ($($Names -join ', ')); run azd up (or azd provision) first.")
            exit 1
        }
    }
}

# Exits 1 unless the Azure CLI is signed in to subscription $Subscription.
function Assert-AzSignedIn([string] $Subscription) {
    az account show --subscription $Subscription --query id --output tsv *> $null
    if ($LASTEXITCODE -ne 0) {
        [Console]::Error.WriteLine("ERROR: the Azure CLI is not signed in to subscription $Subscription. Run: az login")
        exit 1
    }
}
