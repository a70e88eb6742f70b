using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddFreshBooksConnect(builder.Configuration);
builder.Services.AddFreshBooksConnectTelemetry(builder.Configuration).UseFunctionsWorkerDefaults();
builder.Build().Run();
