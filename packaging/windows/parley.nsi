; Parley's Windows installer (NSIS 3), built by packaging/windows/build.sh:
;   makensis -DVERSION=0.1.0 -DVERSION4=0.1.0.0 -DSTAGE=dir -DOUTFILE=file parley.nsi
; STAGE holds parley.exe, parley.ico, LICENSE.txt and THIRD-PARTY-LICENSES.txt.
; SIGN, when defined, is a command that signs the file named by %1 in place.
;
; Installs for everyone (Program Files, asks for administrator rights) or
; for the current user only (no rights needed); upgrades an earlier
; install in place. Command line: /S (silent), /AllUsers or /CurrentUser,
; /Service (run the server as a Windows service at boot), /NoDesktopShortcut.
; The uninstaller keeps everyone's data unless "Remove my data" is ticked
; (silently: /RemoveData).

Unicode true
; A 64-bit installer for a 64-bit app: Program Files and the registry
; without WOW64 redirection.
Target amd64-unicode
ManifestDPIAware true
SetCompressor /SOLID lzma

!define APP "Parley"
!define PUBLISHER "Parley developers"
!define UNINSTALLER "Uninstall Parley.exe"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Parley"
!define SERVICE "Parley"
; LocalService (S-1-5-19) runs the service; its data is under ProgramData.
!define SERVICE_ACCOUNT "NT AUTHORITY\LocalService"
!define SERVICE_SID "*S-1-5-19"

!define MULTIUSER_EXECUTIONLEVEL Highest
!define MULTIUSER_MUI
!define MULTIUSER_INSTALLMODE_COMMANDLINE
!define MULTIUSER_USE_PROGRAMFILES64
!define MULTIUSER_INSTALLMODE_INSTDIR "${APP}"
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_KEY "Software\${APP}"
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_VALUENAME "InstallMode"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_KEY "Software\${APP}"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_VALUENAME "InstallLocation"

!include MultiUser.nsh
!include MUI2.nsh
!include LogicLib.nsh
!include FileFunc.nsh
!include Sections.nsh
!include x64.nsh

Name "${APP}"
OutFile "${OUTFILE}"
BrandingText "${APP} ${VERSION}"

VIProductVersion "${VERSION4}"
VIFileVersion "${VERSION4}"
VIAddVersionKey "ProductName" "${APP}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APP} installer"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "LegalCopyright" "See LICENSE.txt"

!ifdef SIGN
!finalize '${SIGN} "%1"'
!uninstfinalize '${SIGN} "%1"'
!endif

!define MUI_ICON "${STAGE}\parley.ico"
!define MUI_UNICON "${STAGE}\parley.ico"
!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_SMALLDESC
!define MUI_FINISHPAGE_RUN "$INSTDIR\parley.exe"
!define MUI_FINISHPAGE_RUN_TEXT "Open ${APP}"

!insertmacro MUI_PAGE_LICENSE "${STAGE}\LICENSE.txt"
!insertmacro MULTIUSER_PAGE_INSTALLMODE
!define MUI_PAGE_CUSTOMFUNCTION_PRE ComponentsPre
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_COMPONENTS
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

Var ServiceData   ; ProgramData\Parley, the service's data folder
Var HadService    ; 1 when a service from an earlier install exists

; --- helpers shared by the installer and the uninstaller

!macro ServiceFunctions prefix
; StopService stops the service if it runs and waits for it to end.
Function ${prefix}StopService
	nsExec::ExecToLog 'sc.exe stop ${SERVICE}'
	Pop $0
	${For} $1 1 30
		nsExec::Exec 'sc.exe query ${SERVICE}'
		Pop $0
		${If} $0 != 0
			Return ; no such service
		${EndIf}
		nsExec::Exec '"$SYSDIR\cmd.exe" /c sc.exe query ${SERVICE} | find "STOPPED"'
		Pop $0
		${If} $0 == 0
			Return
		${EndIf}
		Sleep 500
	${Next}
FunctionEnd

; RemoveFirewallRules deletes the rules the installer added.
Function ${prefix}RemoveFirewallRules
	nsExec::ExecToLog 'netsh.exe advfirewall firewall delete rule name="${APP} (TCP)"'
	Pop $0
	nsExec::ExecToLog 'netsh.exe advfirewall firewall delete rule name="${APP} (UDP)"'
	Pop $0
FunctionEnd
!macroend
!insertmacro ServiceFunctions ""
!insertmacro ServiceFunctions "un."

; --- installer

; CloseRunningApp waits until parley.exe can be replaced: an open window
; holds it.
Function CloseRunningApp
	${Do}
		${IfNot} ${FileExists} "$INSTDIR\parley.exe"
			Return
		${EndIf}
		ClearErrors
		FileOpen $0 "$INSTDIR\parley.exe" a
		${IfNot} ${Errors}
			FileClose $0
			Return
		${EndIf}
		MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION "${APP} is open. Close it (and stop hosting, if this computer hosts meetings), then choose Retry." /SD IDCANCEL IDRETRY +2
		Abort "${APP} is still running."
	${Loop}
FunctionEnd

Section "${APP}" SecCore
	SectionIn RO
	Call StopService
	Call CloseRunningApp

	SetOutPath "$INSTDIR"
	File "${STAGE}\parley.exe"
	File "${STAGE}\LICENSE.txt"
	File "${STAGE}\THIRD-PARTY-LICENSES.txt"
	WriteUninstaller "$INSTDIR\${UNINSTALLER}"

	CreateShortcut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\parley.exe" "" "$INSTDIR\parley.exe" 0 "" "" "Video meetings for the office"

	; parley:// meeting links open in the app.
	WriteRegStr SHCTX "Software\Classes\parley" "" "URL:Parley meeting link"
	WriteRegStr SHCTX "Software\Classes\parley" "URL Protocol" ""
	WriteRegStr SHCTX "Software\Classes\parley\DefaultIcon" "" '"$INSTDIR\parley.exe",0'
	WriteRegStr SHCTX "Software\Classes\parley\shell\open\command" "" '"$INSTDIR\parley.exe" "%1"'

	; Programs and Features.
	WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayName" "${APP}"
	WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
	WriteRegStr SHCTX "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
	WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayIcon" '"$INSTDIR\parley.exe",0'
	WriteRegStr SHCTX "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
	WriteRegStr SHCTX "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\${UNINSTALLER}" /$MultiUser.InstallMode'
	WriteRegStr SHCTX "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\${UNINSTALLER}" /$MultiUser.InstallMode /S'
	WriteRegStr SHCTX "${UNINSTALL_KEY}" "URLInfoAbout" "https://github.com/parleyhq/parley"
	WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "NoModify" 1
	WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "NoRepair" 1
	${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
	IntFmt $0 "0x%08X" $0
	WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "EstimatedSize" "$0"
	WriteRegStr SHCTX "Software\${APP}" "InstallLocation" "$INSTDIR"
	WriteRegStr SHCTX "Software\${APP}" "InstallMode" "$MultiUser.InstallMode"

	; Firewall: HTTPS, signalling and media share the HTTPS port, TCP and
	; UDP; 8080 redirects to HTTPS; 3478 is the built-in TURN server; 5353
	; is LAN discovery (mDNS); 5060 and 5061 are the SIP gateway, its calls'
	; audio and video 50000-51999. Rules for the app only, on private and
	; domain networks. A per-user install cannot add rules: Windows asks
	; when Parley first listens.
	${If} $MultiUser.InstallMode == "AllUsers"
		Call RemoveFirewallRules
		nsExec::ExecToLog 'netsh.exe advfirewall firewall add rule name="${APP} (TCP)" dir=in action=allow program="$INSTDIR\parley.exe" protocol=TCP localport=8443,8080,3478,5060,5061 profile=private,domain'
		Pop $0
		nsExec::ExecToLog 'netsh.exe advfirewall firewall add rule name="${APP} (UDP)" dir=in action=allow program="$INSTDIR\parley.exe" protocol=UDP localport=8443,3478,5353,5060,50000-51999 profile=private,domain'
		Pop $0
	${EndIf}
SectionEnd

Section "Desktop shortcut" SecDesktop
	CreateShortcut "$DESKTOP\${APP}.lnk" "$INSTDIR\parley.exe" "" "$INSTDIR\parley.exe" 0
SectionEnd

Section /o "Run the server as a Windows service at boot" SecService
	CreateDirectory "$ServiceData"
	nsExec::ExecToLog 'icacls.exe "$ServiceData" /grant ${SERVICE_SID}:(OI)(CI)M /T /Q'
	Pop $0
	${If} $HadService == 1
		nsExec::ExecToLog 'sc.exe config ${SERVICE} binPath= "\"$INSTDIR\parley.exe\" serve --service --data \"$ServiceData\"" start= auto'
	${Else}
		nsExec::ExecToLog 'sc.exe create ${SERVICE} binPath= "\"$INSTDIR\parley.exe\" serve --service --data \"$ServiceData\"" start= auto obj= "${SERVICE_ACCOUNT}" DisplayName= "${APP} server"'
	${EndIf}
	Pop $0
	${If} $0 != 0
		DetailPrint "The service could not be registered (sc.exe: $0)."
	${Else}
		nsExec::ExecToLog 'sc.exe description ${SERVICE} "Parley video conferencing server (HTTPS, WebRTC media, TURN). Data in $ServiceData."'
		Pop $0
		nsExec::ExecToLog 'sc.exe failure ${SERVICE} reset= 86400 actions= restart/5000/restart/30000//'
		Pop $0
		nsExec::ExecToLog 'sc.exe start ${SERVICE}'
		Pop $0
	${EndIf}
SectionEnd

; An earlier install's service that is not wanted any more goes.
Section "-RemoveUnwantedService"
	${IfNot} ${SectionIsSelected} ${SecService}
	${AndIf} $HadService == 1
		nsExec::ExecToLog 'sc.exe delete ${SERVICE}'
		Pop $0
	${EndIf}
SectionEnd

Function .onInit
	!insertmacro MULTIUSER_INIT
	SetShellVarContext all
	StrCpy $ServiceData "$APPDATA\${APP}"
	${If} $MultiUser.InstallMode == "CurrentUser"
		SetShellVarContext current
	${EndIf}
	nsExec::ExecToStack 'sc.exe query ${SERVICE}'
	Pop $0
	Pop $1
	${If} $0 == 0
		StrCpy $HadService 1
	${EndIf}
	${GetParameters} $R0
	ClearErrors
	${GetOptions} $R0 "/Service" $R1
	${IfNot} ${Errors}
	${OrIf} $HadService == 1
		!insertmacro SelectSection ${SecService}
	${EndIf}
	ClearErrors
	${GetOptions} $R0 "/NoDesktopShortcut" $R1
	${IfNot} ${Errors}
		!insertmacro UnselectSection ${SecDesktop}
	${EndIf}
	Call ServiceNeedsEveryone
FunctionEnd

; A service and firewall rules are for installs for everyone, which have
; administrator rights.
Function ServiceNeedsEveryone
	${If} $MultiUser.InstallMode == "CurrentUser"
		!insertmacro UnselectSection ${SecService}
		!insertmacro SetSectionFlag ${SecService} ${SF_RO}
	${Else}
		!insertmacro ClearSectionFlag ${SecService} ${SF_RO}
	${EndIf}
FunctionEnd

Function ComponentsPre
	Call ServiceNeedsEveryone
FunctionEnd

!insertmacro MUI_FUNCTION_DESCRIPTION_BEGIN
	!insertmacro MUI_DESCRIPTION_TEXT ${SecCore} "The Parley app: host meetings on this computer or join them, with the server built in."
	!insertmacro MUI_DESCRIPTION_TEXT ${SecDesktop} "A Parley icon on the desktop."
	!insertmacro MUI_DESCRIPTION_TEXT ${SecService} "Start the Parley server when Windows starts, without anyone signed in (installs for everyone only). Its data is in $ServiceData."
!insertmacro MUI_FUNCTION_DESCRIPTION_END

; --- uninstaller

Section "un.${APP}" UnSecCore
	SectionIn RO
	Call un.StopService
	nsExec::ExecToLog 'sc.exe delete ${SERVICE}'
	Pop $0
	${If} $MultiUser.InstallMode == "AllUsers"
		Call un.RemoveFirewallRules
	${EndIf}

	Delete "$INSTDIR\parley.exe"
	Delete "$INSTDIR\LICENSE.txt"
	Delete "$INSTDIR\THIRD-PARTY-LICENSES.txt"
	Delete "$INSTDIR\${UNINSTALLER}"
	RMDir "$INSTDIR"

	Delete "$SMPROGRAMS\${APP}.lnk"
	Delete "$DESKTOP\${APP}.lnk"
	DeleteRegKey SHCTX "Software\Classes\parley"
SectionEnd

; Unticked unless chosen: the accounts, meetings, chat history and
; certificates of this user's server, and the service's.
Section /o "un.Remove my data" UnSecData
	SetShellVarContext current
	RMDir /r "$APPDATA\${APP}"
	${If} $MultiUser.InstallMode == "AllUsers"
		SetShellVarContext all
		RMDir /r "$ServiceData"
	${EndIf}
SectionEnd

; Last, so that an uninstall cut short stays in Programs and Features.
Section "-un.Unregister"
	${If} $MultiUser.InstallMode == "AllUsers"
		SetShellVarContext all
	${Else}
		SetShellVarContext current
	${EndIf}
	DeleteRegKey SHCTX "${UNINSTALL_KEY}"
	DeleteRegKey SHCTX "Software\${APP}"
SectionEnd

Function un.onInit
	!insertmacro MULTIUSER_UNINIT
	SetShellVarContext all
	StrCpy $ServiceData "$APPDATA\${APP}"
	${If} $MultiUser.InstallMode == "CurrentUser"
		SetShellVarContext current
	${EndIf}
	${GetParameters} $R0
	ClearErrors
	${GetOptions} $R0 "/RemoveData" $R1
	${IfNot} ${Errors}
		!insertmacro SelectSection ${UnSecData}
	${EndIf}
FunctionEnd

!insertmacro MUI_UNFUNCTION_DESCRIPTION_BEGIN
	!insertmacro MUI_DESCRIPTION_TEXT ${UnSecCore} "The Parley app, its shortcuts and its registration."
	!insertmacro MUI_DESCRIPTION_TEXT ${UnSecData} "Also delete your Parley data (accounts, meetings, chat history, certificates) and the service's. Kept unless ticked, for a later install."
!insertmacro MUI_UNFUNCTION_DESCRIPTION_END
