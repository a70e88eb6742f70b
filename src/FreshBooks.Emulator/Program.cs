using FreshBooks.Emulator;

// Standalone: dotnet run --project src/FreshBooks.Emulator -- --urls http://127.0.0.1:5100
// Settings from the configuration section "Emulator" (Emulator__ClientId, Emulator__RedirectUris__0, ...).
await using var emulator = await FreshBooksEmulator.StartStandaloneAsync(args);
Console.WriteLine($"FreshBooks emulator listening on {emulator.BaseUri} (consent page {emulator.AuthorizeUri}, admin {emulator.BaseUri}_emulator/)");
await emulator.WaitForShutdownAsync();
